import { Metrics } from '@aws-lambda-powertools/metrics';
import type { IngestResult } from '../ingest/ingest';
import { CloudWatchSink } from './cloudwatch-sink';
import {
  COMPENSATION_DURATION,
  DEAD_LETTERS,
  EVENTS_DUPLICATE,
  EVENTS_PROCESSED,
  EVENTS_RECEIVED,
  SAGAS_COMPENSATED,
  SAGAS_FAILED,
} from './metrics';
import type { MetricsRecorder } from './telemetry';
import { Telemetry } from './telemetry';

/**
 * Records an ingest's outcome (consume and redrive): the same numbers the
 * handler returns and logs. Saga transitions come from the store's
 * before/after comparison, so a redelivered batch or a duplicate event never
 * counts a failure or a compensation twice.
 */
export function recordIngestMetrics(target: MetricsRecorder | Metrics, result: IngestResult): void {
  const recorder = target instanceof Metrics ? cloudWatchOnly(target) : target;
  const { summary, sagaChanges } = result;
  recorder.increment(EVENTS_RECEIVED, {}, summary.received);
  for (const { step, status, count } of summary.insertedByStepStatus) {
    recorder.increment(EVENTS_PROCESSED, { step, status }, count);
  }
  recorder.increment(EVENTS_DUPLICATE, {}, summary.duplicates);
  for (const [reason, count] of Object.entries(summary.deadLettersByReason)) {
    recorder.increment(DEAD_LETTERS, { reason }, count ?? 0);
  }
  let failed = 0;
  let compensated = 0;
  for (const change of sagaChanges) {
    if (change.enteredFailed) failed++;
    if (change.enteredCompensated) compensated++;
    if (change.compensationSeconds !== null) {
      recorder.observe(COMPENSATION_DURATION, {}, change.compensationSeconds);
    }
  }
  recorder.increment(SAGAS_FAILED, {}, failed);
  recorder.increment(SAGAS_COMPENSATED, {}, compensated);
  if (target instanceof Metrics) void (recorder as Telemetry).flush();
}

// Callers that still hand over Powertools Metrics get CloudWatch only, as before the recorder
// existed: the values stay in Powertools' buffer for its logMetrics middleware to publish.
function cloudWatchOnly(metrics: Metrics): Telemetry {
  return new Telemetry([new CloudWatchSink(metrics, false)], { warn: () => undefined });
}
