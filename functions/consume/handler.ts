import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describeIssues } from '../../lib/domain/saga-event';
import { SagaTrackerError } from '../../lib/errors';
import type { IngestDeps, IngestSummary } from '../../lib/ingest/ingest';
import { ingestRecords } from '../../lib/ingest/ingest';
import { kafkaEventSchema, recordsInOrder } from '../../lib/ingest/kafka-event';
import { recordIngestMetrics } from '../../lib/telemetry/ingest-metrics';

/** The invocation event is not what an event source mapping sends: retrying cannot fix it. */
export class InvalidKafkaEventError extends SagaTrackerError {}

export interface ConsumeDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly ingest: IngestDeps;
}

export interface ConsumeResponse extends IngestSummary {
  /** Always empty: per-record failures become dead letters instead of blocking the partition. */
  readonly batchItemFailures: [];
}

/**
 * The MSK-triggered ingest function. Any error that escapes (a transient
 * database or registry failure) fails the invocation, so the event source
 * mapping retries the whole batch; nothing of it has been committed.
 */
export function createConsumeHandler(deps: ConsumeDeps) {
  const { logger, metrics } = deps;
  return middy<unknown, ConsumeResponse, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .handler(async (event) => {
      const parsed = kafkaEventSchema.safeParse(event);
      if (!parsed.success) {
        throw new InvalidKafkaEventError(
          `not a Kafka event source mapping event: ${describeIssues(parsed.error)}`,
        );
      }
      const records = recordsInOrder(parsed.data);
      const result = await ingestRecords(records, deps.ingest);
      for (const outcome of result.outcomes) {
        if (outcome.outcome === 'dead-lettered') {
          logger.warn('record dead-lettered', {
            ...outcome.ref,
            eventId: outcome.eventId,
            reason: outcome.reason,
            detail: outcome.message,
          });
        }
      }
      logger.info('batch ingested', { ...result.summary });
      recordIngestMetrics(metrics, result);
      return { ...result.summary, batchItemFailures: [] };
    });
}
