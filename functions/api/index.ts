import { createPool } from '../../lib/adapters/pg/pool';
import { PgSagaQueryStore } from '../../lib/adapters/pg/query-store';
import { databaseEnvSchema, parseEnv, toDatabaseConfig } from '../../lib/config';
import { createLogger, createMetrics, telemetryFromEnv } from '../../lib/telemetry';
import { apiMetrics, timeQuery } from '../../lib/telemetry/http-metrics';
import { flushMetrics } from '../../lib/telemetry/middleware';
import { createApiHandler } from './handler';
import { API_ROUTES } from './routes';

// Everything below runs once per Lambda environment (cold start).
const logger = createLogger('saga-tracker-api');
const metrics = createMetrics('saga-tracker-api');
const telemetry = telemetryFromEnv('api', { logger, metrics });
// API Gateway gives up after 30 s: a query must give up well before, so its connection is freed.
const database = toDatabaseConfig(
  parseEnv(databaseEnvSchema, { DB_STATEMENT_TIMEOUT_MS: '10000', ...process.env }),
);
const pool = createPool(database, {
  applicationName: 'saga-tracker-api',
  onError: (error) => logger.warn('idle database connection failed', { error }),
});
const store = new PgSagaQueryStore(pool, { observeQuery: (name, run) => timeQuery(telemetry, name, run) });

export const handler = createApiHandler({
  logger,
  store,
  sagas: store,
  // flushMetrics first so it sends what apiMetrics recorded; both see the mapped error responses.
  middlewares: [
    flushMetrics(telemetry, { coldStartMetrics: metrics }),
    apiMetrics(telemetry, { routes: API_ROUTES.map((route) => route.path) }),
  ],
});
