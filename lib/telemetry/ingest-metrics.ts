import type { IngestResult, SagaChange } from '../ingest/ingest';
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

/**
 * Records an ingest's outcome (consume and redrive): the same numbers the
 * handler returns and logs. Saga transitions come from the store's
 * before/after comparison, so a redelivered batch or a duplicate event never
 * counts a failure or a compensation twice.
 */
export function recordIngestMetrics(recorder: MetricsRecorder, result: IngestResult): void {
  const { summary } = result;
  recorder.increment(EVENTS_RECEIVED, {}, summary.received);
  for (const { step, status, count } of summary.insertedByStepStatus) {
    recorder.increment(EVENTS_PROCESSED, { step, status }, count);
  }
  recorder.increment(EVENTS_DUPLICATE, {}, summary.duplicates);
  for (const [reason, count] of Object.entries(summary.deadLettersByReason)) {
    recorder.increment(DEAD_LETTERS, { reason }, count ?? 0);
  }
  recordSagaChanges(recorder, result.sagaChanges);
}

/** Failure and compensation transitions, each counted once per saga (consume and redrive). */
export function recordSagaChanges(recorder: MetricsRecorder, changes: readonly SagaChange[]): void {
  let failed = 0;
  let compensated = 0;
  for (const change of changes) {
    if (change.enteredFailed) failed++;
    if (change.enteredCompensated) compensated++;
    if (change.compensationSeconds !== null) {
      recorder.observe(COMPENSATION_DURATION, {}, change.compensationSeconds);
    }
  }
  recorder.increment(SAGAS_FAILED, {}, failed);
  recorder.increment(SAGAS_COMPENSATED, {}, compensated);
}
