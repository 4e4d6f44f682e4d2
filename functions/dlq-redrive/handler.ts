import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { parseRedriveOptions } from '../../lib/redrive/options';
import type { RedriveDeps } from '../../lib/redrive/redrive';
import { redrive } from '../../lib/redrive/redrive';
import type { RedriveReport } from '../../lib/redrive/report';

/** Stop starting new work when less than this is left of the invocation. */
export const TIME_MARGIN_MS = 30_000;

export interface RedriveHandlerDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The core's dependencies for one run: fresh schema caches, so a just-registered schema is found. */
  readonly depsForRun: () => Omit<RedriveDeps, 'shouldStop' | 'log'>;
}

/**
 * The manually invoked redrive function: validates the options, replays dead
 * letters through the consume path and returns (and logs) the report. Bad
 * options fail the invocation with a message naming the option.
 */
export function createRedriveHandler(deps: RedriveHandlerDeps) {
  const { logger, metrics } = deps;
  return middy<unknown, RedriveReport, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .handler(async (event, context) => {
      const options = parseRedriveOptions(event);
      logger.info('redrive started', { options: { ...options, since: options.since?.toISOString() } });
      const { sagaChanges, ...report } = await redrive(options, {
        ...deps.depsForRun(),
        shouldStop: () => context.getRemainingTimeInMillis() < TIME_MARGIN_MS,
        log: {
          info: (message, extra = {}) => logger.info(message, extra),
          warn: (message, extra = {}) => logger.warn(message, extra),
        },
      });
      for (const result of report.results) {
        if (result.status === 'FAILED' || result.status === 'DEAD_LETTERED')
          logger.warn('dead letter not replayed', { ...result });
      }
      const { results: _results, ...summary } = report;
      logger.info('redrive finished', { ...summary });
      metrics.addMetric('RedriveRequested', MetricUnit.Count, report.requested);
      metrics.addMetric('RedriveSuccessful', MetricUnit.Count, report.successful);
      metrics.addMetric('RedriveFailed', MetricUnit.Count, report.failed);
      metrics.addMetric('RedriveSkipped', MetricUnit.Count, report.skipped);
      if (!report.dryRun) {
        // Redriven events count as ingested, like the consumer's.
        metrics.addMetric(
          'EventsInserted',
          MetricUnit.Count,
          report.results.filter((result) => result.status === 'REPLAYED').length,
        );
        metrics.addMetric(
          'SagasFailed',
          MetricUnit.Count,
          sagaChanges.filter((change) => change.enteredFailed).length,
        );
        metrics.addMetric(
          'SagasCompensated',
          MetricUnit.Count,
          sagaChanges.filter((change) => change.enteredCompensated).length,
        );
      }
      return report;
    });
}
