import { z } from 'zod';
import { ConfigError } from '../errors';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses environment variables once with a zod schema; a missing or malformed
 * variable fails at cold start with the variable's name.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): Readonly<z.output<S>> {
  // Empty strings mean "unset": CDK and shells often export VAR= for optional values.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { cause: result.error });
  }
  return Object.freeze(result.data);
}

const positiveInt = z.coerce.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/ });

export const databaseEnvSchema = z
  .object({
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DB_HOST: z.string().optional(),
    DB_PORT: positiveInt.default(5432),
    DB_NAME: z.string().optional(),
    DB_USER: z.string().optional(),
    DB_AUTH: z.enum(['iam', 'secret']).optional(),
    DB_SECRET_ARN: z.string().optional(),
    DB_POOL_MAX: positiveInt.default(2),
    DB_STATEMENT_TIMEOUT_MS: positiveInt.default(60_000),
    DB_CONNECT_TIMEOUT_MS: positiveInt.default(5_000),
    AWS_REGION: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL) return;
    for (const name of ['DB_HOST', 'DB_NAME', 'DB_AUTH'] as const) {
      if (!env[name]) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when DATABASE_URL is not set' });
      }
    }
    if (!env.DB_USER) {
      ctx.addIssue({ code: 'custom', path: ['DB_USER'], message: 'required when DATABASE_URL is not set' });
    }
    if (env.DB_AUTH === 'secret' && !env.DB_SECRET_ARN) {
      ctx.addIssue({ code: 'custom', path: ['DB_SECRET_ARN'], message: 'required when DB_AUTH=secret' });
    }
  });

export type DatabaseConfig =
  | {
      readonly kind: 'url';
      readonly url: string;
      readonly poolMax: number;
      readonly statementTimeoutMs: number;
      readonly connectTimeoutMs: number;
    }
  | {
      readonly kind: 'iam' | 'secret';
      readonly host: string;
      readonly port: number;
      readonly database: string;
      readonly user: string;
      readonly secretArn: string | undefined;
      readonly region: string | undefined;
      readonly poolMax: number;
      readonly statementTimeoutMs: number;
      readonly connectTimeoutMs: number;
    };

export function toDatabaseConfig(env: z.output<typeof databaseEnvSchema>): DatabaseConfig {
  const common = {
    poolMax: env.DB_POOL_MAX,
    statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
  };
  if (env.DATABASE_URL) return { kind: 'url', url: env.DATABASE_URL, ...common };
  return {
    // superRefine guarantees these are present.
    kind: env.DB_AUTH ?? 'secret',
    host: env.DB_HOST ?? '',
    port: env.DB_PORT,
    database: env.DB_NAME ?? '',
    user: env.DB_USER ?? '',
    secretArn: env.DB_SECRET_ARN,
    region: env.AWS_REGION,
    ...common,
  };
}

export const schemaRegistryEnvSchema = z.object({
  SCHEMA_REGISTRY_URL: httpUrl.optional(),
  /** `user:password` for registries behind basic auth. */
  SCHEMA_REGISTRY_AUTH: z
    .string()
    .regex(/^[^:]+:.*$/, 'expected user:password')
    .optional(),
  /** Secrets Manager secret holding `{"username": …, "password": …}` for the registry. */
  SCHEMA_REGISTRY_SECRET_ARN: z.string().optional(),
  SCHEMA_REGISTRY_TIMEOUT_MS: positiveInt.default(3_000),
  /**
   * Bundled writer schemas for environments without a registry: a JSON object
   * mapping schema id to the name of a file in `schemas/`, e.g. `{"1":"SagaTracker.avsc"}`.
   */
  SCHEMA_REGISTRY_STATIC_SCHEMAS: z
    .string()
    .transform((text, ctx) => {
      try {
        return z
          .record(z.string().regex(/^\d+$/, 'schema ids are integers'), z.string())
          .parse(JSON.parse(text));
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a JSON object of schema id to file name (${String(error)})`,
        });
        return z.NEVER;
      }
    })
    .optional(),
});

export const ingestEnvSchema = z.object({
  /** Events dated further in the future than this are rejected as invalid. */
  MAX_CLOCK_SKEW_SECONDS: positiveInt.default(86_400),
});
