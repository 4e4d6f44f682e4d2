import { createPool } from '../../lib/adapters/pg/pool';
import { PgSagaQueryStore } from '../../lib/adapters/pg/query-store';
import { databaseEnvSchema, parseEnv, toDatabaseConfig } from '../../lib/config';
import { createLogger } from '../../lib/telemetry';
import { createApiHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const logger = createLogger('saga-tracker-api');
const database = toDatabaseConfig(parseEnv(databaseEnvSchema, process.env));
const pool = createPool(database, {
  applicationName: 'saga-tracker-api',
  onError: (error) => logger.warn('idle database connection failed', { error }),
});
const store = new PgSagaQueryStore(pool);

export const handler = createApiHandler({ logger, store, sagas: store });
