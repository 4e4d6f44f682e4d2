import { PgIngestStore } from '../../lib/adapters/pg/ingest-store';
import { writerSchemasFromConfig } from '../../lib/adapters/schema-registry';
import { ingestEnvSchema, parseEnv, schemaRegistryEnvSchema } from '../../lib/config';
import { createFunctionRuntime, secretCredentialsCache } from '../../lib/runtime';
import { loadBundledSchema } from '../../schemas';
import { createConsumeHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const { logger, metrics, telemetry, pool } = createFunctionRuntime('consume');
const registry = parseEnv(schemaRegistryEnvSchema, process.env);
const ingest = parseEnv(ingestEnvSchema, process.env);

export const handler = createConsumeHandler({
  logger,
  metrics,
  telemetry,
  ingest: {
    schemas: writerSchemasFromConfig(registry, loadBundledSchema, secretCredentialsCache()),
    store: new PgIngestStore(pool),
    maxFutureMs: ingest.MAX_CLOCK_SKEW_SECONDS * 1000,
  },
});
