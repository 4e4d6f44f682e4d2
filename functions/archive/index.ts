import { createArchiveStack } from '../../lib/adapters/archive';
import { createS3Client, s3EnvSchema } from '../../lib/adapters/s3';
import { parseEnv } from '../../lib/config';
import { archiveEnvSchema, toArchiveConfig } from '../../lib/config/archive';
import { createFunctionRuntime } from '../../lib/runtime';
import { createArchiveHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
// One read and two writes at once: three connections unless told otherwise.
const { logger, metrics, telemetry, pool } = createFunctionRuntime('archive', {
  databaseDefaults: { DB_POOL_MAX: '3' },
});
const config = toArchiveConfig(parseEnv(archiveEnvSchema, process.env));
const s3 = createS3Client(parseEnv(s3EnvSchema, process.env));
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
