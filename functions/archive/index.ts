import { createArchiveStack } from '../../lib/adapters/archive';
import { createPool } from '../../lib/adapters/pg/pool';
import { createS3Client, s3EnvSchema } from '../../lib/adapters/s3';
import { databaseEnvSchema, parseEnv, toDatabaseConfig } from '../../lib/config';
import { archiveEnvSchema, toArchiveConfig } from '../../lib/config/archive';
import { createLogger, createMetrics, telemetryFromEnv } from '../../lib/telemetry';
import { createArchiveHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const logger = createLogger('saga-tracker-archive');
const metrics = createMetrics('saga-tracker-archive');
const telemetry = telemetryFromEnv('archive', { logger, metrics });
const config = toArchiveConfig(parseEnv(archiveEnvSchema, process.env));
const database = toDatabaseConfig(parseEnv(databaseEnvSchema, process.env));
const s3 = createS3Client(parseEnv(s3EnvSchema, process.env));
const pool = createPool(database, {
  applicationName: 'saga-tracker-archive',
  onError: (error) => logger.warn('idle database connection failed', { error }),
});
const archive = createArchiveStack(pool, s3, config.bucket);

export const handler = createArchiveHandler({
  logger,
  metrics,
  telemetry,
  config,
  run: { store: archive.store, storage: archive.storage, reader: archive.reader },
  restore: { reader: archive.reader, index: archive.index },
  verify: { store: archive.store, storage: archive.storage },
});
