import type { DeadLetterReason } from '../errors';
import type { RecordOutcome } from '../ingest/ingest';
import type { RecordRef } from '../ingest/kafka-event';
import { formatRef } from '../ingest/kafka-event';

/**
 * What a redrive did with one dead letter (a table row, or one record of an
 * S3 batch):
 * - `REPLAYED`: the event is stored now.
 * - `ALREADY_STORED`: the same event was stored before (a redelivery or an
 *   earlier run got it in); the dead letter is resolved.
 * - `FAILED`: it failed again and stays pending, with the new reason.
 * - `DEAD_LETTERED`: a record of an S3 batch failed for good and now waits in
 *   the dead-letter table with its reason (the batch itself is done).
 * - `SKIPPED`: not touched (another redrive holds it, or it is not pending).
 */
export const REDRIVE_STATUSES = ['REPLAYED', 'ALREADY_STORED', 'FAILED', 'DEAD_LETTERED', 'SKIPPED'] as const;
export type RedriveStatus = (typeof REDRIVE_STATUSES)[number];

/** Why a dead letter was not replayed, beyond the dead-letter reasons of the ingest path. */
export type RedriveReason =
  | DeadLetterReason
  /** Database or schema registry unavailable: try again later. */
  | 'TRANSIENT'
  /** The S3 object is not an on-failure record of a Kafka batch. */
  | 'MALFORMED_ON_FAILURE_RECORD'
  /** The on-failure record has no payload (the batch was too large to keep). */
  | 'PAYLOAD_MISSING'
  /** Another redrive is working on it right now. */
  | 'LOCKED'
  | 'ALREADY_REPLAYED'
  /** Pending, but the run stopped (limit, time or outage) before reaching it. */
  | 'NOT_REACHED'
  | 'NOT_FOUND';

export type RedriveSource = 'table' | 's3';

export interface RedriveResult {
  /** Dead-letter id (table) or `s3://bucket/key#topic-partition@offset`. */
  readonly id: string;
  readonly source: RedriveSource;
  readonly eventId: string | null;
  readonly status: RedriveStatus;
  readonly reason: RedriveReason | null;
  /** Detail for failures: the decode or validation error, or what to do. */
  readonly message?: string;
  /** `topic-partition@offset` of the Kafka record, when known. */
  readonly record?: string;
}

export interface RedriveReport {
  readonly dryRun: boolean;
  readonly requested: number;
  readonly successful: number;
  readonly failed: number;
  readonly skipped: number;
  /** True when the run stopped early (an outage, or the function running out of time). */
  readonly incomplete: boolean;
  /** Problems that stopped or limited the run, e.g. the database being unreachable. */
  readonly errors: readonly string[];
  readonly results: readonly RedriveResult[];
}

export function isSuccess(status: RedriveStatus): boolean {
  return status === 'REPLAYED' || status === 'ALREADY_STORED';
}

export function isFailure(status: RedriveStatus): boolean {
  return status === 'FAILED' || status === 'DEAD_LETTERED';
}

export function buildReport(
  dryRun: boolean,
  results: readonly RedriveResult[],
  errors: readonly string[],
  incomplete: boolean,
): RedriveReport {
  return {
    dryRun,
    requested: results.length,
    successful: results.filter((result) => isSuccess(result.status)).length,
    failed: results.filter((result) => isFailure(result.status)).length,
    skipped: results.filter((result) => result.status === 'SKIPPED').length,
    incomplete,
    errors,
    results,
  };
}

export function refKey(ref: RecordRef): string {
  return JSON.stringify([ref.topic, ref.partition, ref.offset]);
}

/** The result of one replayed record, from what the ingest path did with it. */
export function resultOf(
  outcome: RecordOutcome,
  base: { id: string; source: RedriveSource; failedStatus: 'FAILED' | 'DEAD_LETTERED' },
): RedriveResult {
  const record = formatRef(outcome.ref);
  if (outcome.outcome === 'dead-lettered') {
    return {
      id: base.id,
      source: base.source,
      eventId: outcome.eventId,
      status: base.failedStatus,
      reason: outcome.reason,
      message: outcome.message,
      record,
    };
  }
  return {
    id: base.id,
    source: base.source,
    eventId: outcome.eventId,
    status: outcome.outcome === 'inserted' ? 'REPLAYED' : 'ALREADY_STORED',
    reason: null,
    record,
  };
}
