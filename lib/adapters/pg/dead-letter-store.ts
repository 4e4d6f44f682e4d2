import type pg from 'pg';
import type { RecordRef } from '../../ingest/kafka-event';

/** A `saga_dead_letter` row as the redrive path reads it (ids and offsets as text: bigint-safe). */
export interface DeadLetterRow {
  readonly id: string;
  readonly topic: string;
  readonly kafka_partition: number;
  readonly kafka_offset: string;
  readonly kafka_timestamp: Date | null;
  readonly timestamp_type: string | null;
  readonly record_key: Buffer | null;
  readonly record_value: Buffer | null;
  readonly headers: ReadonlyArray<{ key: string; value: string }>;
  readonly event_id: string | null;
  readonly saga_id: string | null;
  readonly reason: string;
  readonly reason_message: string;
  readonly attempts: number;
}

export interface PendingFilter {
  readonly ids?: readonly string[] | undefined;
  readonly eventIds?: readonly string[] | undefined;
  readonly since?: Date | undefined;
}

const ROW_COLUMNS = `id::text AS id, topic, kafka_partition, kafka_offset::text AS kafka_offset, kafka_timestamp,
       timestamp_type, record_key, record_value, headers, event_id, saga_id, reason, reason_message, attempts`;

/**
 * Pending dead letters in Kafka order after a keyset position, locked for this
 * transaction. SKIP LOCKED: rows another redrive holds are left to it, so two
 * runs never replay the same row at once and neither waits for the other.
 */
const LOCK_PENDING = `
SELECT ${ROW_COLUMNS}
FROM saga_dead_letter d
WHERE status = 'PENDING'
  AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
  AND ($2::text[] IS NULL OR event_id = ANY($2::text[]))
  AND ($3::timestamptz IS NULL OR created_at >= $3)
  AND ($4::text IS NULL OR (topic, kafka_partition, kafka_offset) > ($4::text, $5::integer, $6::bigint))
-- Qualified: unqualified names would sort by the text columns of the select list.
ORDER BY d.topic, d.kafka_partition, d.kafka_offset
LIMIT $7
FOR UPDATE SKIP LOCKED`;

const MARK_REPLAYED = `
UPDATE saga_dead_letter
SET status = 'REPLAYED', attempts = attempts + 1, resolved_at = now(), updated_at = now()
WHERE id = ANY($1::bigint[])`;

/** Pending rows for records a redrive of an S3 batch has just stored; rows another run holds are its business. */
const RESOLVE_BY_REFS = `
UPDATE saga_dead_letter
SET status = 'REPLAYED', resolved_at = now(), updated_at = now()
WHERE id IN (
  SELECT id FROM saga_dead_letter
  WHERE status = 'PENDING'
    AND (topic, kafka_partition, kafka_offset) IN (
      SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[]))
  ORDER BY id
  FOR UPDATE SKIP LOCKED)`;

const RECORD_ATTEMPT = `
UPDATE saga_dead_letter
SET attempts = attempts + 1, last_error = $2, updated_at = now()
WHERE id = ANY($1::bigint[]) AND status = 'PENDING'`;

const STATUS_OF_IDS = `
SELECT id::text AS id, event_id, status FROM saga_dead_letter WHERE id = ANY($1::bigint[])`;

const STATUS_OF_EVENT_IDS = `
SELECT id::text AS id, event_id, status FROM saga_dead_letter WHERE event_id = ANY($1::text[])`;

const STORED_EVENT_IDS = `SELECT event_id FROM saga_steps WHERE event_id = ANY($1::text[])`;

export interface DeadLetterStatusRow {
  readonly id: string;
  readonly event_id: string | null;
  readonly status: string;
}

function nullableArray<T>(values: readonly T[] | undefined): T[] | null {
  return values === undefined ? null : [...values];
}

/** The SQL of the dead-letter table for redrive and the admin API. */
export const deadLetterSql = {
  async lockPending(
    client: pg.ClientBase,
    filter: PendingFilter,
    after: RecordRef | null,
    limit: number,
  ): Promise<DeadLetterRow[]> {
    const result = await client.query<DeadLetterRow>(LOCK_PENDING, [
      nullableArray(filter.ids),
      nullableArray(filter.eventIds),
      filter.since ?? null,
      after?.topic ?? null,
      after?.partition ?? null,
      after?.offset ?? null,
      limit,
    ]);
    return result.rows;
  },

  async markReplayed(client: pg.ClientBase, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await client.query(MARK_REPLAYED, [[...ids]]);
  },

  async resolveByRefs(client: pg.ClientBase, refs: readonly RecordRef[]): Promise<void> {
    if (refs.length === 0) return;
    await client.query(RESOLVE_BY_REFS, [
      refs.map((ref) => ref.topic),
      refs.map((ref) => ref.partition),
      refs.map((ref) => ref.offset),
    ]);
  },

  /** Counts a failed attempt that rolled back (an outage): the rows stay pending with the error. */
  async recordAttempt(client: pg.Pool | pg.ClientBase, ids: readonly string[], error: string): Promise<void> {
    if (ids.length > 0) await client.query(RECORD_ATTEMPT, [[...ids], error]);
  },

  async statusOfIds(client: pg.Pool | pg.ClientBase, ids: readonly string[]): Promise<DeadLetterStatusRow[]> {
    if (ids.length === 0) return [];
    return (await client.query<DeadLetterStatusRow>(STATUS_OF_IDS, [[...ids]])).rows;
  },

  async statusOfEventIds(
    client: pg.Pool | pg.ClientBase,
    eventIds: readonly string[],
  ): Promise<DeadLetterStatusRow[]> {
    if (eventIds.length === 0) return [];
    return (await client.query<DeadLetterStatusRow>(STATUS_OF_EVENT_IDS, [[...eventIds]])).rows;
  },

  async storedEventIds(client: pg.Pool | pg.ClientBase, eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const result = await client.query<{ event_id: string }>(STORED_EVENT_IDS, [[...eventIds]]);
    return new Set(result.rows.map((row) => row.event_id));
  },
};

export interface DeadLetterListFilter {
  readonly reason?: string | undefined;
  /** Undefined: every status. */
  readonly status?: string | undefined;
  readonly source?: string | undefined;
  readonly eventId?: string | undefined;
  readonly sagaId?: string | undefined;
  readonly fromDate?: Date | undefined;
  readonly toDate?: Date | undefined;
}

export interface DeadLetterListRow {
  readonly id: string;
  readonly topic: string;
  readonly kafka_partition: number;
  readonly kafka_offset: string;
  readonly kafka_timestamp: Date | null;
  readonly record_key: Buffer | null;
  readonly record_value: Buffer | null;
  readonly headers: ReadonlyArray<{ key: string; value: string }>;
  readonly event_id: string | null;
  readonly saga_id: string | null;
  readonly reason: string;
  readonly reason_message: string;
  readonly status: string;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly source: string;
  readonly created_at: Date;
  readonly updated_at: Date;
  readonly resolved_at: Date | null;
}

const LIST_WHERE = `
WHERE ($1::text IS NULL OR reason = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR source = $3)
  AND ($4::text IS NULL OR event_id = $4)
  AND ($5::text IS NULL OR saga_id = $5)
  AND ($6::timestamptz IS NULL OR created_at >= $6)
  AND ($7::timestamptz IS NULL OR created_at <= $7)`;

const LIST_COLUMNS = `id::text AS id, topic, kafka_partition, kafka_offset::text AS kafka_offset, kafka_timestamp,
       record_key, record_value, headers, event_id, saga_id, reason, reason_message, status, attempts,
       last_error, source, created_at, updated_at, resolved_at`;

// Two fixed statements rather than an ORDER BY built from input.
// Qualified names: the select list turns id and kafka_offset into text.
const LIST_NEWEST_FIRST = `SELECT ${LIST_COLUMNS} FROM saga_dead_letter d ${LIST_WHERE}
ORDER BY d.created_at DESC, d.id DESC LIMIT $8 OFFSET $9`;
const LIST_OLDEST_FIRST = `SELECT ${LIST_COLUMNS} FROM saga_dead_letter d ${LIST_WHERE}
ORDER BY d.created_at ASC, d.id ASC LIMIT $8 OFFSET $9`;
const COUNT = `SELECT count(*)::text AS total FROM saga_dead_letter ${LIST_WHERE}`;

export const deadLetterListSql = {
  async page(
    client: pg.Pool | pg.ClientBase,
    filter: DeadLetterListFilter,
    page: { number: number; size: number; newestFirst: boolean },
  ): Promise<{ rows: DeadLetterListRow[]; total: number }> {
    const params = [
      filter.reason ?? null,
      filter.status ?? null,
      filter.source ?? null,
      filter.eventId ?? null,
      filter.sagaId ?? null,
      filter.fromDate ?? null,
      filter.toDate ?? null,
    ];
    const [rows, count] = await Promise.all([
      client.query<DeadLetterListRow>(page.newestFirst ? LIST_NEWEST_FIRST : LIST_OLDEST_FIRST, [
        ...params,
        page.size,
        page.number * page.size,
      ]),
      client.query<{ total: string }>(COUNT, params),
    ]);
    return { rows: rows.rows, total: Number(count.rows[0]?.total ?? 0) };
  },
};
