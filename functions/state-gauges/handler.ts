import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Telemetry } from '../../lib/telemetry';
import { timeQuery } from '../../lib/telemetry/http-metrics';
import { flushMetrics } from '../../lib/telemetry/middleware';
import type {
  ConsumerLagSource,
  SagaStateSource,
  StateGaugesReport,
  StateThresholds,
} from '../../lib/telemetry/state-gauges';
import { recordStateGauges } from '../../lib/telemetry/state-gauges';

export interface StateGaugesDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly telemetry: Telemetry;
  readonly state: SagaStateSource;
  /** Absent when CONSUME_FUNCTION_NAME is not configured: no `saga_tracker_consumer_lag`. */
  readonly lag?: ConsumerLagSource;
  readonly thresholds: StateThresholds;
}

/**
 * The scheduled (every minute) function behind the state gauges. The event
 * (EventBridge Scheduler's) carries nothing it needs. A database failure fails
 * the invocation after `saga_tracker_up 0` has been flushed.
 */
export function createStateGaugesHandler(deps: StateGaugesDeps) {
  const { logger, telemetry } = deps;
  const state: SagaStateSource = {
    read: (thresholds) => timeQuery(telemetry, 'state_gauges', () => deps.state.read(thresholds)),
  };
  return middy<unknown, StateGaugesReport, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(telemetry, { coldStartMetrics: deps.metrics }))
    .handler(async () => {
      const report = await recordStateGauges(
        telemetry,
        {
          state,
          ...(deps.lag ? { lag: deps.lag } : {}),
          onLagError: (error) => logger.warn('consumer lag not available from CloudWatch', { error }),
        },
        deps.thresholds,
      );
      logger.info('state gauges recorded', { ...report });
      return report;
    });
}
