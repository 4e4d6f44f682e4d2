import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchConsumerLag } from '../../lib/adapters/cloudwatch-lag';
import { PgSagaStateSource } from '../../lib/adapters/pg/saga-state-store';
import { parseEnv } from '../../lib/config';
import { stateGaugesEnvSchema } from '../../lib/config/telemetry';
import { createFunctionRuntime } from '../../lib/runtime';
import { createStateGaugesHandler } from './handler';

// Everything below runs once per Lambda environment (cold start).
const { logger, metrics, telemetry, pool } = createFunctionRuntime('state-gauges');
const config = parseEnv(stateGaugesEnvSchema, process.env);

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
