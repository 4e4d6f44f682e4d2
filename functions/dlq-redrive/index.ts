import { createS3Client, s3EnvSchema } from '../../lib/adapters/s3';
import { S3DeadLetterBucket } from '../../lib/adapters/s3-dead-letter-bucket';
import { writerSchemasFromConfig } from '../../lib/adapters/schema-registry';
import { ingestEnvSchema, parseEnv, schemaRegistryEnvSchema } from '../../lib/config';
import { redriveEnvSchema } from '../../lib/config/redrive';
import { createFunctionRuntime, secretCredentialsCache } from '../../lib/runtime';
import { loadBundledSchema } from '../../schemas';
import { createRedriveHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const { logger, metrics, telemetry, pool } = createFunctionRuntime('dlq-redrive');
const registry = parseEnv(schemaRegistryEnvSchema, process.env);
const ingest = parseEnv(ingestEnvSchema, process.env);
const config = parseEnv(redriveEnvSchema, process.env);
const bucket = config.DLQ_BUCKET
  ? new S3DeadLetterBucket(createS3Client(parseEnv(s3EnvSchema, process.env)), config.DLQ_BUCKET)
  : undefined;
const credentialsFromSecret = secretCredentialsCache();
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
