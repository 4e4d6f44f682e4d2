import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sagaTrackerSchema } from '../../../schemas';
import { type FakeRegistry, startFakeRegistry } from '../../../test/support/fake-registry';
import { ConfigError, PermanentRecordError, TransientError } from '../../errors';
import { LayeredWriterSchemas, SchemaRegistryClient, StaticWriterSchemas, writerSchemasFromConfig } from '.';

let registry: FakeRegistry;
beforeAll(async () => {
  registry = await startFakeRegistry({ requireAuth: 'tracker:s3cret' });
});
afterAll(() => registry.close());

function client(overrides: Partial<ConstructorParameters<typeof SchemaRegistryClient>[0]> = {}) {
  return new SchemaRegistryClient({
    url: `${registry.url}/`,
    credentials: async () => 'tracker:s3cret',
    timeoutMs: 1_000,
    ...overrides,
  });
}

describe('SchemaRegistryClient', () => {
  it('fetches a writer schema with basic auth and caches it', async () => {
    const registryClient = client();
    const before = registry.requests.length;
    const type = await registryClient.writerType(1);
    await registryClient.writerType(1);
    expect(type.name).toBe('com.groom.ecommerce.saga.event.avro.SagaTracker');
    expect(registry.requests.length - before).toBe(1);
  });

  it('reports an unknown schema id as permanent, and asks again once the miss has expired', async () => {
    let now = 0;
    const registryClient = client({ notFoundTtlMs: 1_000, now: () => now });
    await expect(registryClient.writerType(99)).rejects.toThrow(PermanentRecordError);
    const before = registry.requests.length;
    await expect(registryClient.writerType(99)).rejects.toMatchObject({ reason: 'UNKNOWN_SCHEMA_ID' });
    expect(registry.requests.length).toBe(before);

    registry.register(99, sagaTrackerSchema());
    now = 2_000;
    await expect(registryClient.writerType(99)).resolves.toBeDefined();
  });

  it('treats server errors, wrong credentials and timeouts as transient', async () => {
    registry.failWith(500);
    await expect(client().writerType(1)).rejects.toThrow(TransientError);
    registry.failWith(null);
    await expect(client({ credentials: async () => 'tracker:wrong' }).writerType(1)).rejects.toThrow(
      /answered 401/,
    );
    await expect(client({ url: 'http://127.0.0.1:1' }).writerType(1)).rejects.toThrow(/unreachable/);
  });

  it('gives up on a registry that accepts the connection but never answers', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      await expect(client({ url: `http://127.0.0.1:${port}`, timeoutMs: 100 }).writerType(1)).rejects.toThrow(
        TransientError,
      );
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('refuses schemas that are not Avro as permanent', async () => {
    const fakeFetch = (async () =>
      new Response(JSON.stringify({ schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }))) as typeof fetch;
    await expect(client({ fetch: fakeFetch }).writerType(5)).rejects.toMatchObject({
      reason: 'UNSUPPORTED_SCHEMA',
    });
  });
});

describe('writer schemas from configuration', () => {
  const loadSchema = () => sagaTrackerSchema();
  const noSecret = () => async () => '';

  it('serves bundled schemas without a registry', async () => {
    const schemas = writerSchemasFromConfig(
      { SCHEMA_REGISTRY_TIMEOUT_MS: 1_000, SCHEMA_REGISTRY_STATIC_SCHEMAS: { '3': 'SagaTracker.avsc' } },
      loadSchema,
      noSecret,
    );
    await expect(schemas.writerType(3)).resolves.toBeDefined();
    await expect(schemas.writerType(4)).rejects.toMatchObject({ reason: 'UNKNOWN_SCHEMA_ID' });
  });

  it('requires a registry URL or bundled schemas', () => {
    expect(() =>
      writerSchemasFromConfig({ SCHEMA_REGISTRY_TIMEOUT_MS: 1_000 }, loadSchema, noSecret),
    ).toThrow(
      new ConfigError(
        'invalid configuration: SCHEMA_REGISTRY_URL or SCHEMA_REGISTRY_STATIC_SCHEMAS is required to decode Avro values',
      ),
    );
  });

  it('prefers bundled schemas and falls back to the registry', async () => {
    const layered = new LayeredWriterSchemas(new StaticWriterSchemas({ '1': sagaTrackerSchema() }), client());
    const before = registry.requests.length;
    await layered.writerType(1);
    expect(registry.requests.length).toBe(before);
    await expect(layered.writerType(404)).rejects.toMatchObject({ reason: 'UNKNOWN_SCHEMA_ID' });
    expect(registry.requests.length).toBe(before + 1);
  });
});
