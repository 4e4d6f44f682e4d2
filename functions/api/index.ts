import { createS3Client, s3EnvSchema } from '../../lib/adapters/s3';
import { writerSchemasFromConfig } from '../../lib/adapters/schema-registry';
import { ingestEnvSchema, parseEnv, schemaRegistryEnvSchema } from '../../lib/config';
import { apiArchiveEnvSchema, toApiArchiveConfig } from '../../lib/config/api';
import { createFunctionRuntime, secretCredentialsCache } from '../../lib/runtime';
import { loadBundledSchema } from '../../schemas';
import { createApiHandler } from './handler';
import { wireApi } from './wiring';

// Everything below runs once per Lambda environment (cold start); bad configuration fails here, naming the variable.
// API Gateway gives up after 30 s: a query must give up well before, so its connection is freed.
const { logger, metrics, telemetry, pool } = createFunctionRuntime('api', {
  databaseDefaults: { DB_STATEMENT_TIMEOUT_MS: '10000' },
});
const archive = toApiArchiveConfig(parseEnv(apiArchiveEnvSchema, process.env));
const s3 = parseEnv(s3EnvSchema, process.env);
const registry = parseEnv(schemaRegistryEnvSchema, process.env);
const ingest = parseEnv(ingestEnvSchema, process.env);

const credentialsFromSecret = secretCredentialsCache();
// Fails the cold start, not the first replay, when no schema source is configured.
writerSchemasFromConfig(registry, loadBundledSchema, credentialsFromSecret);

export const handler = createApiHandler(
  wireApi({
    logger,
    pool,
    telemetry,
    coldStartMetrics: metrics,
    // One retry of a slow or failed S3 request, then a 503: API Gateway waits 30 s at most.
    ...(archive
      ? {
          archive: {
            s3: createS3Client(s3, { requestTimeoutMs: archive.readTimeoutMs, maxAttempts: 2 }),
            bucket: archive.bucket,
          },
        }
      : {}),
    replaySchemas: () => writerSchemasFromConfig(registry, loadBundledSchema, credentialsFromSecret),
    maxClockSkewSeconds: ingest.MAX_CLOCK_SKEW_SECONDS,
  }),
);
