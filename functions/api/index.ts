import { createPool } from '../../lib/adapters/pg/pool';
import { PgSagaQueryStore } from '../../lib/adapters/pg/query-store';
import { databaseEnvSchema, parseEnv, toDatabaseConfig } from '../../lib/config';
import { createLogger } from '../../lib/telemetry';
import { createApiHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const logger = createLogger('saga-tracker-api');
// API Gateway gives up after 30 s: a query must give up well before, so its connection is freed.
const database = toDatabaseConfig(
  parseEnv(databaseEnvSchema, { DB_STATEMENT_TIMEOUT_MS: '10000', ...process.env }),
);
const pool = createPool(database, {
  applicationName: 'saga-tracker-api',
  onError: (error) => logger.warn('idle database connection failed', { error }),
});
const store = new PgSagaQueryStore(pool);

export const handler = createApiHandler({ logger, store, sagas: store });
