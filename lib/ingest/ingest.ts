import type { WriterSchemas } from '../adapters/schema-registry';
import type { SagaStatus } from '../domain/saga-event';
import type { DeadLetterReason } from '../errors';
import type { DecodeOptions } from './decode';
import { decodeRecords } from './decode';
import type { KafkaRecord, RecordRef } from './kafka-event';
import { sagaIdsFromKeys } from './kafka-event';
import type { BatchPlan } from './plan';
import { planBatch } from './plan';

/** How one saga row changed in a batch, for metrics counted once per transition. */
export interface SagaChange {
  readonly sagaId: string;
  readonly sagaType: string;
  readonly previousStatus: SagaStatus | null;
  readonly currentStatus: SagaStatus;
  /** The saga's first FAILED step arrived in this batch. */
  readonly enteredFailed: boolean;
  /** The saga's first COMPENSATED step arrived in this batch. */
  readonly enteredCompensated: boolean;
  /** Seconds from the first FAILED to the first COMPENSATED step, once both are known (reported once). */
  readonly compensationSeconds: number | null;
}

export type RecordOutcome =
  | { readonly ref: RecordRef; readonly outcome: 'inserted' | 'duplicate'; readonly eventId: string }
  | {
      readonly ref: RecordRef;
      readonly outcome: 'dead-lettered';
      readonly eventId: string | null;
      readonly reason: DeadLetterReason;
      readonly message: string;
    };

/** What the store did with a plan, inside one transaction. */
export interface AppliedBatch {
  readonly outcomes: readonly RecordOutcome[];
  readonly sagaChanges: readonly SagaChange[];
}

/** Persists a batch plan atomically: steps, saga rows and dead letters, or nothing. */
export interface IngestStore {
  /**
   * `plan` may still be in the making (the batch is being decoded): the store
   * can open its transaction and lock the sagas named in `hints` meanwhile, so
   * the database works while Node decodes.
   */
  apply(plan: BatchPlan | Promise<BatchPlan>, hints?: IngestHints): Promise<AppliedBatch>;
}

/** What is known of a batch before it is decoded. */
export interface IngestHints {
  /** The sagas the records are keyed by (producers key records by sagaId); a guess, not a promise. */
  readonly sagaIds: readonly string[];
}

export interface IngestDeps extends DecodeOptions {
  readonly schemas: WriterSchemas;
  readonly store: IngestStore;
}

export interface IngestSummary {
  readonly received: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly deadLettersByReason: Readonly<Partial<Record<DeadLetterReason, number>>>;
  /** Inserted events per `step|status`, for `saga_events_processed_total`. */
  readonly insertedByStepStatus: ReadonlyArray<{ step: string; status: SagaStatus; count: number }>;
}

export interface IngestResult extends AppliedBatch {
  readonly summary: IngestSummary;
}

/**
 * The ingest path shared by the consume and redrive functions: decode and
 * validate every record, plan the batch, and apply it in one transaction.
 * `records` must be in partition/offset order.
 */
export async function ingestRecords(
  records: readonly KafkaRecord[],
  deps: IngestDeps,
): Promise<IngestResult> {
  const planning = decodeRecords(records, deps.schemas, deps).then(planBatch);
  // Awaited through the store; this keeps an early store failure from leaving it unhandled.
  planning.catch(() => undefined);
  const applied = await deps.store.apply(planning, { sagaIds: sagaIdsFromKeys(records) });
  return { ...applied, summary: summarize(records.length, await planning, applied) };
}

function summarize(received: number, plan: BatchPlan, applied: AppliedBatch): IngestSummary {
  let inserted = 0;
  let duplicates = 0;
  let deadLettered = 0;
  const byReason: Partial<Record<DeadLetterReason, number>> = {};
  const insertedIds = new Set<string>();
  for (const item of applied.outcomes) {
    if (item.outcome === 'dead-lettered') {
      deadLettered++;
      byReason[item.reason] = (byReason[item.reason] ?? 0) + 1;
    } else if (item.outcome === 'inserted') {
      inserted++;
      insertedIds.add(item.eventId);
    } else {
      duplicates++;
    }
  }
  const byStepStatus = new Map<string, { step: string; status: SagaStatus; count: number }>();
  for (const { event } of plan.steps) {
    if (!insertedIds.has(event.eventId)) continue;
    const key = `${event.step}\u0000${event.status}`;
    const entry = byStepStatus.get(key) ?? { step: event.step, status: event.status, count: 0 };
    entry.count++;
    byStepStatus.set(key, entry);
  }
  return {
    received,
    inserted,
    duplicates,
    deadLettered,
    deadLettersByReason: byReason,
    insertedByStepStatus: [...byStepStatus.values()],
  };
}
