import { createPool } from '../../lib/adapters/pg/pool';
import { createS3Client, s3EnvSchema } from '../../lib/adapters/s3';
import { S3DeadLetterBucket } from '../../lib/adapters/s3-dead-letter-bucket';
import { writerSchemasFromConfig } from '../../lib/adapters/schema-registry';
import { basicCredentialsFromSecret } from '../../lib/adapters/secrets';
import {
  databaseEnvSchema,
  ingestEnvSchema,
  parseEnv,
  schemaRegistryEnvSchema,
  toDatabaseConfig,
} from '../../lib/config';
import { redriveEnvSchema } from '../../lib/config/redrive';
import { createLogger, createMetrics, telemetryFromEnv } from '../../lib/telemetry';
import { loadBundledSchema } from '../../schemas';
import { createRedriveHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const logger = createLogger('saga-tracker-dlq-redrive');
const metrics = createMetrics('saga-tracker-dlq-redrive');
const telemetry = telemetryFromEnv('dlq-redrive', { logger, metrics });
const database = toDatabaseConfig(parseEnv(databaseEnvSchema, process.env));
const registry = parseEnv(schemaRegistryEnvSchema, process.env);
const ingest = parseEnv(ingestEnvSchema, process.env);
const config = parseEnv(redriveEnvSchema, process.env);
const pool = createPool(database, {
  applicationName: 'saga-tracker-dlq-redrive',
  onError: (error) => logger.warn('idle database connection failed', { error }),
});
const bucket = config.DLQ_BUCKET
  ? new S3DeadLetterBucket(createS3Client(parseEnv(s3EnvSchema, process.env)), config.DLQ_BUCKET)
  : undefined;
const secrets = new Map<string, () => Promise<string>>();
const credentialsFromSecret = (arn: string) => {
  let credentials = secrets.get(arn);
  if (!credentials) {
    credentials = basicCredentialsFromSecret(arn);
    secrets.set(arn, credentials);
  }
  return credentials;
};
// Fails the cold start, not the first run, when no schema source is configured.
writerSchemasFromConfig(registry, loadBundledSchema, credentialsFromSecret);

export const handler = createRedriveHandler({
  logger,
  metrics,
  telemetry,
  depsForRun: () => ({
    pool,
    schemas: writerSchemasFromConfig(registry, loadBundledSchema, credentialsFromSecret),
    decode: { maxFutureMs: ingest.MAX_CLOCK_SKEW_SECONDS * 1000 },
    ...(bucket ? { bucket } : {}),
    ...(config.DLQ_PREFIX ? { prefix: config.DLQ_PREFIX } : {}),
    batchSize: config.REDRIVE_BATCH_SIZE,
  }),
});
