import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { parseRedriveOptions } from '../../lib/redrive/options';
import type { RedriveDeps } from '../../lib/redrive/redrive';
import { redrive } from '../../lib/redrive/redrive';
import type { RedriveReport } from '../../lib/redrive/report';
import { createTelemetry, type Telemetry } from '../../lib/telemetry';
import { recordRedriveOutcomes } from '../../lib/telemetry/archive-metrics';
import { recordSagaChanges } from '../../lib/telemetry/ingest-metrics';
import { flushMetrics } from '../../lib/telemetry/middleware';

/** Stop starting new work when less than this is left of the invocation. */
export const TIME_MARGIN_MS = 30_000;

export interface RedriveHandlerDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Prometheus + CloudWatch recorder; CloudWatch only (through `metrics`) when absent. */
  readonly telemetry?: Telemetry;
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
  const telemetry =
    deps.telemetry ??
    createTelemetry({ functionName: 'dlq-redrive', logger, metrics, remoteWrite: { enabled: false } });
  return middy<unknown, RedriveReport, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(telemetry, { coldStartMetrics: metrics }))
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
      recordRedriveOutcomes(telemetry, {
        replayed: report.successful,
        failed: report.failed,
        skipped: report.skipped,
      });
      // A dry run rolls its transactions back: no saga changed.
      if (!report.dryRun) recordSagaChanges(telemetry, sagaChanges);
      return report;
    });
}
