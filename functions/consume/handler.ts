import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describeIssues } from '../../lib/domain/saga-event';
import { SagaTrackerError } from '../../lib/errors';
import type { IngestDeps, IngestStore, IngestSummary } from '../../lib/ingest/ingest';
import { ingestRecords } from '../../lib/ingest/ingest';
import { kafkaEventSchema, recordsInOrder } from '../../lib/ingest/kafka-event';
import { createTelemetry, type MetricsRecorder, type Telemetry } from '../../lib/telemetry';
import { timeQuery } from '../../lib/telemetry/http-metrics';
import { recordIngestMetrics } from '../../lib/telemetry/ingest-metrics';
import { flushMetrics } from '../../lib/telemetry/middleware';

/** The invocation event is not what an event source mapping sends: retrying cannot fix it. */
export class InvalidKafkaEventError extends SagaTrackerError {}

export interface ConsumeDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly ingest: IngestDeps;
  /** Prometheus + CloudWatch recorder; CloudWatch only (through `metrics`) when absent. */
  readonly telemetry?: Telemetry;
}

/** The batch transaction, timed as `saga_tracker_db_query_seconds{query="ingest_batch"}`. */
function timedStore(store: IngestStore, recorder: MetricsRecorder): IngestStore {
  return { apply: (plan, hints) => timeQuery(recorder, 'ingest_batch', () => store.apply(plan, hints)) };
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
  const telemetry =
    deps.telemetry ??
    createTelemetry({ functionName: 'consume', logger, metrics, remoteWrite: { enabled: false } });
  const ingest: IngestDeps = { ...deps.ingest, store: timedStore(deps.ingest.store, telemetry) };
  return middy<unknown, ConsumeResponse, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(flushMetrics(telemetry, { coldStartMetrics: metrics }))
    .handler(async (event) => {
      const parsed = kafkaEventSchema.safeParse(event);
      if (!parsed.success) {
        throw new InvalidKafkaEventError(
          `not a Kafka event source mapping event: ${describeIssues(parsed.error)}`,
        );
      }
      const records = recordsInOrder(parsed.data);
      const result = await ingestRecords(records, ingest);
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
      recordIngestMetrics(telemetry, result);
      return { ...result.summary, batchItemFailures: [] };
    });
}
