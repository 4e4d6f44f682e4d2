import type { JsonObject, SagaStatus } from '../domain/saga-event';
import { eventContentHash, traceIdOf } from '../domain/saga-event';
import type { DeadLetterReason } from '../errors';
import type { DecodedRecord } from './decode';
import type { KafkaRecord, RecordRef } from './kafka-event';
import { formatRef, refOf } from './kafka-event';

/** One accepted event, shaped as a `saga_steps` row. */
export interface StepRow {
  readonly eventId: string;
  readonly sagaId: string;
  readonly sagaType: string;
  readonly step: string;
  readonly status: SagaStatus;
  readonly orderId: string;
  readonly producerService: string | null;
  readonly traceId: string | null;
  readonly metadata: JsonObject | null;
  readonly recordedAt: number;
  readonly eventTimestamp: number;
  readonly contentHash: Buffer;
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

export function conflictMessage(eventId: string, firstSeen: string): string {
  return `eventId ${eventId} was already accepted with different content (first seen at ${firstSeen})`;
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
      eventId: event.eventId,
      sagaId: event.sagaId,
      sagaType: event.sagaType,
      step: event.step,
      status: event.status,
      orderId: event.orderId,
      producerService: item.producerService,
      traceId: traceIdOf(event.metadata),
      metadata: event.metadata,
      recordedAt: event.recordedAt,
      eventTimestamp: event.eventTimestamp,
      contentHash: eventContentHash(event),
      record: item.record,
    };
    const first = firstByEventId.get(row.eventId);
    if (!first) {
      firstByEventId.set(row.eventId, row);
      steps.push(row);
    } else if (first.contentHash.equals(row.contentHash)) {
      duplicates.push({ ref: refOf(item.record), eventId: row.eventId });
    } else {
      deadLetters.push({
        record: item.record,
        reason: 'EVENT_ID_CONFLICT',
        message: conflictMessage(row.eventId, formatRef(refOf(first.record))),
        eventId: row.eventId,
        sagaId: row.sagaId,
      });
    }
  }
  return { steps, duplicates, deadLetters };
}
