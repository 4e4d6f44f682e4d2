import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchConsumerLag } from '../../lib/adapters/cloudwatch-lag';
import { createPool } from '../../lib/adapters/pg/pool';
import { PgSagaStateSource } from '../../lib/adapters/pg/saga-state-store';
import { databaseEnvSchema, parseEnv, toDatabaseConfig } from '../../lib/config';
import { stateGaugesEnvSchema } from '../../lib/config/telemetry';
import { createLogger, createMetrics, telemetryFromEnv } from '../../lib/telemetry';
import { createStateGaugesHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const logger = createLogger('saga-tracker-state-gauges');
const metrics = createMetrics('saga-tracker-state-gauges');
const telemetry = telemetryFromEnv('state-gauges', { logger, metrics });
const database = toDatabaseConfig(parseEnv(databaseEnvSchema, process.env));
const config = parseEnv(stateGaugesEnvSchema, process.env);
const pool = createPool(database, {
  applicationName: 'saga-tracker-state-gauges',
  onError: (error) => logger.warn('idle database connection failed', { error }),
});

export const handler = createStateGaugesHandler({
  logger,
  metrics,
  telemetry,
  state: new PgSagaStateSource(pool),
  ...(config.CONSUME_FUNCTION_NAME
    ? {
        lag: new CloudWatchConsumerLag(new CloudWatchClient({}), {
          functionName: config.CONSUME_FUNCTION_NAME,
        }),
      }
    : {}),
  thresholds: {
    stuckAfterSeconds: config.SAGA_STUCK_AFTER_SECONDS,
    uncompensatedAfterSeconds: config.SAGA_UNCOMPENSATED_AFTER_SECONDS,
  },
});
