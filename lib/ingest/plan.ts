import type { SagaEvent } from '../domain/saga-event';
import { sameEventContent, traceIdOf } from '../domain/saga-event';
import type { DeadLetterReason } from '../errors';
import type { DecodedRecord } from './decode';
import type { KafkaRecord, RecordRef } from './kafka-event';
import { formatRef, refOf } from './kafka-event';

/** One accepted event, with what a `saga_steps` row derives from it. */
export interface StepRow {
  readonly event: SagaEvent;
  readonly producerService: string | null;
  readonly traceId: string | null;
  /** The Kafka record the event came in, kept in case it must become a dead letter. */
  readonly record: KafkaRecord;
}

/** A record to keep in the dead-letter store, with its raw bytes. */
export interface DeadLetterDraft {
  readonly record: KafkaRecord;
  readonly reason: DeadLetterReason;
  readonly message: string;
  readonly eventId: string | null;
  readonly sagaId: string | null;
}

export interface BatchPlan {
  /** Distinct event ids, first occurrence in partition/offset order. */
  readonly steps: readonly StepRow[];
  /** Records repeating an event already in `steps` with identical content. */
  readonly duplicates: ReadonlyArray<{ readonly ref: RecordRef; readonly eventId: string }>;
  readonly deadLetters: readonly DeadLetterDraft[];
}

export function conflictDeadLetter(step: StepRow, firstSeen: string): DeadLetterDraft {
  return {
    record: step.record,
    reason: 'EVENT_ID_CONFLICT',
    message: `eventId ${step.event.eventId} was already accepted with different content (first seen ${firstSeen})`,
    eventId: step.event.eventId,
    sagaId: step.event.sagaId,
  };
}

/**
 * Decides, without I/O, what a batch contributes: the first occurrence of each
 * event id is applied, identical repeats are duplicates, and repeats with other
 * content are conflicts kept as dead letters. `decoded` must be in
 * partition/offset order.
 */
export function planBatch(decoded: readonly DecodedRecord[]): BatchPlan {
  const steps: StepRow[] = [];
  const duplicates: Array<{ ref: RecordRef; eventId: string }> = [];
  const deadLetters: DeadLetterDraft[] = [];
  const firstByEventId = new Map<string, StepRow>();
  for (const item of decoded) {
    if (!item.ok) {
      deadLetters.push({
        record: item.record,
        reason: item.error.reason,
        message: item.error.message,
        eventId: item.eventId,
        sagaId: null,
      });
      continue;
    }
    const { event } = item;
    const row: StepRow = {
      event,
      producerService: item.producerService,
      traceId: traceIdOf(event.metadata),
      record: item.record,
    };
    const first = firstByEventId.get(event.eventId);
    if (!first) {
      firstByEventId.set(event.eventId, row);
      steps.push(row);
    } else if (sameEventContent(first.event, event)) {
      duplicates.push({ ref: refOf(item.record), eventId: event.eventId });
    } else {
      deadLetters.push(conflictDeadLetter(row, `at ${formatRef(refOf(first.record))}`));
    }
  }
  return { steps, duplicates, deadLetters };
}
