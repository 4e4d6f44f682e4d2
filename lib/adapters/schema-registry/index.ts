import avro from 'avsc';
import { z } from 'zod';
import { ConfigError, PermanentRecordError, TransientError } from '../../errors';

/** Resolves a schema id to the Avro type the producer wrote with. */
export interface WriterSchemas {
  writerType(schemaId: number): Promise<avro.Type>;
}

function toAvroType(schema: unknown, schemaId: number): avro.Type {
  try {
    return avro.Type.forSchema(schema as avro.Schema);
  } catch (error) {
    throw new PermanentRecordError(
      'UNSUPPORTED_SCHEMA',
      `schema ${schemaId} is not a valid Avro schema: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** Writer schemas known at build time (environments without a registry). */
export class StaticWriterSchemas implements WriterSchemas {
  private readonly types = new Map<number, avro.Type>();

  constructor(schemas: Readonly<Record<string, object>>) {
    for (const [id, schema] of Object.entries(schemas))
      this.types.set(Number(id), toAvroType(schema, Number(id)));
  }

  has(schemaId: number): boolean {
    return this.types.has(schemaId);
  }

  async writerType(schemaId: number): Promise<avro.Type> {
    const type = this.types.get(schemaId);
    if (!type)
      throw new PermanentRecordError(
        'UNKNOWN_SCHEMA_ID',
        `schema id ${schemaId} is not among the bundled schemas`,
      );
    return type;
  }
}

const schemaResponse = z.object({
  schema: z.string(),
  schemaType: z.string().optional(),
});

export interface SchemaRegistryOptions {
  readonly url: string;
  /** `user:password` for basic auth, resolved lazily (it may come from a secret). */
  readonly credentials?: () => Promise<string | undefined>;
  readonly timeoutMs: number;
  /** How long a "not found" answer is remembered; a schema registered later is then found. */
  readonly notFoundTtlMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/**
 * Confluent Schema Registry client (`GET /schemas/ids/{id}`), caching writer
 * types for the life of the Lambda environment. A 404 is permanent for the
 * record; anything else that goes wrong is transient.
 */
export class SchemaRegistryClient implements WriterSchemas {
  private readonly found = new Map<number, Promise<avro.Type>>();
  private readonly notFound = new Map<number, { until: number; error: PermanentRecordError }>();
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: SchemaRegistryOptions) {
    this.fetchFn = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  writerType(schemaId: number): Promise<avro.Type> {
    const cachedMiss = this.notFound.get(schemaId);
    if (cachedMiss && cachedMiss.until > this.now()) return Promise.reject(cachedMiss.error);
    let pending = this.found.get(schemaId);
    if (!pending) {
      pending = this.fetchType(schemaId);
      this.found.set(schemaId, pending);
      // Only successes stay cached; failures are retried on the next request.
      pending.catch(() => this.found.delete(schemaId));
    }
    return pending;
  }

  private async fetchType(schemaId: number): Promise<avro.Type> {
    const url = `${this.options.url.replace(/\/+$/, '')}/schemas/ids/${schemaId}`;
    const headers: Record<string, string> = {
      accept: 'application/vnd.schemaregistry.v1+json, application/json',
    };
    const credentials = await this.options.credentials?.();
    if (credentials) headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(url, { headers, signal: AbortSignal.timeout(this.options.timeoutMs) });
      text = await response.text();
    } catch (error) {
      throw new TransientError(`schema registry unreachable for schema id ${schemaId}: ${String(error)}`, {
        cause: error,
      });
    }
    if (response.status === 404) {
      const error = new PermanentRecordError(
        'UNKNOWN_SCHEMA_ID',
        `schema registry has no schema with id ${schemaId}`,
      );
      this.notFound.set(schemaId, { until: this.now() + (this.options.notFoundTtlMs ?? 30_000), error });
      throw error;
    }
    if (!response.ok) {
      throw new TransientError(`schema registry answered ${response.status} for schema id ${schemaId}`);
    }
    let body: z.output<typeof schemaResponse>;
    try {
      body = schemaResponse.parse(JSON.parse(text));
    } catch (error) {
      throw new TransientError(`schema registry sent an unreadable answer for schema id ${schemaId}`, {
        cause: error,
      });
    }
    if (body.schemaType && body.schemaType !== 'AVRO') {
      throw new PermanentRecordError(
        'UNSUPPORTED_SCHEMA',
        `schema ${schemaId} is ${body.schemaType}, not AVRO`,
      );
    }
    let schema: unknown;
    try {
      schema = JSON.parse(body.schema);
    } catch (error) {
      throw new PermanentRecordError('UNSUPPORTED_SCHEMA', `schema ${schemaId} is not JSON`, {
        cause: error,
      });
    }
    return toAvroType(schema, schemaId);
  }
}

/** Bundled schemas first, then the registry. */
export class LayeredWriterSchemas implements WriterSchemas {
  constructor(
    private readonly bundled: StaticWriterSchemas | undefined,
    private readonly registry: WriterSchemas | undefined,
  ) {}

  writerType(schemaId: number): Promise<avro.Type> {
    if (this.bundled?.has(schemaId) || !this.registry) {
      return this.bundled
        ? this.bundled.writerType(schemaId)
        : Promise.reject(
            new PermanentRecordError(
              'UNKNOWN_SCHEMA_ID',
              `no schema registry configured for schema id ${schemaId}`,
            ),
          );
    }
    return this.registry.writerType(schemaId);
  }
}

export interface WriterSchemasConfig {
  readonly SCHEMA_REGISTRY_URL?: string | undefined;
  readonly SCHEMA_REGISTRY_AUTH?: string | undefined;
  readonly SCHEMA_REGISTRY_SECRET_ARN?: string | undefined;
  readonly SCHEMA_REGISTRY_TIMEOUT_MS: number;
  readonly SCHEMA_REGISTRY_STATIC_SCHEMAS?: Readonly<Record<string, string>> | undefined;
}

/** Writer schemas as configured: bundled ones, a registry, or both. */
export function writerSchemasFromConfig(
  config: WriterSchemasConfig,
  loadSchema: (fileName: string) => object,
  credentialsFromSecret: (secretArn: string) => () => Promise<string>,
): WriterSchemas {
  const staticFiles = config.SCHEMA_REGISTRY_STATIC_SCHEMAS;
  if (!config.SCHEMA_REGISTRY_URL && !staticFiles) {
    throw new ConfigError(
      'invalid configuration: SCHEMA_REGISTRY_URL or SCHEMA_REGISTRY_STATIC_SCHEMAS is required to decode Avro values',
    );
  }
  const bundled = staticFiles
    ? new StaticWriterSchemas(
        Object.fromEntries(Object.entries(staticFiles).map(([id, file]) => [id, loadSchema(file)])),
      )
    : undefined;
  let registry: SchemaRegistryClient | undefined;
  if (config.SCHEMA_REGISTRY_URL) {
    const auth = config.SCHEMA_REGISTRY_AUTH;
    const secretArn = config.SCHEMA_REGISTRY_SECRET_ARN;
    const credentials = auth ? async () => auth : secretArn ? credentialsFromSecret(secretArn) : undefined;
    registry = new SchemaRegistryClient({
      url: config.SCHEMA_REGISTRY_URL,
      timeoutMs: config.SCHEMA_REGISTRY_TIMEOUT_MS,
      ...(credentials ? { credentials } : {}),
    });
  }
  return new LayeredWriterSchemas(bundled, registry);
}
