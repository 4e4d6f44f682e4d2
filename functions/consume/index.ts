import { PgIngestStore } from '../../lib/adapters/pg/ingest-store';
import { createPool } from '../../lib/adapters/pg/pool';
import { writerSchemasFromConfig } from '../../lib/adapters/schema-registry';
import { basicCredentialsFromSecret } from '../../lib/adapters/secrets';
import {
  databaseEnvSchema,
  ingestEnvSchema,
  parseEnv,
  schemaRegistryEnvSchema,
  toDatabaseConfig,
} from '../../lib/config';
import { createLogger, createMetrics, telemetryFromEnv } from '../../lib/telemetry';
import { loadBundledSchema } from '../../schemas';
import { createConsumeHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const logger = createLogger('saga-tracker-consume');
const metrics = createMetrics('saga-tracker-consume');
const telemetry = telemetryFromEnv('consume', { logger, metrics });
const database = toDatabaseConfig(parseEnv(databaseEnvSchema, process.env));
const registry = parseEnv(schemaRegistryEnvSchema, process.env);
const ingest = parseEnv(ingestEnvSchema, process.env);
const pool = createPool(database, {
  applicationName: 'saga-tracker-consume',
  onError: (error) => logger.warn('idle database connection failed', { error }),
});

export const handler = createConsumeHandler({
  logger,
  metrics,
  telemetry,
  ingest: {
    schemas: writerSchemasFromConfig(registry, loadBundledSchema, (arn) => basicCredentialsFromSecret(arn)),
    store: new PgIngestStore(pool),
    maxFutureMs: ingest.MAX_CLOCK_SKEW_SECONDS * 1000,
  },
});
