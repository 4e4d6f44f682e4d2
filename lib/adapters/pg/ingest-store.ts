import type pg from 'pg';
import type { SagaEvent, SagaStatus } from '../../domain/saga-event';
import { sameEventContent } from '../../domain/saga-event';
import { isoOrNull, storableText } from '../../domain/text';
import type { AppliedBatch, IngestHints, IngestStore, RecordOutcome, SagaChange } from '../../ingest/ingest';
import type { KafkaRecord } from '../../ingest/kafka-event';
import { compareRefs, headerBytes, refOf } from '../../ingest/kafka-event';
import type { BatchPlan, DeadLetterDraft, StepRow } from '../../ingest/plan';
import { conflictDeadLetter } from '../../ingest/plan';
import { SAGA_INDEX_COLUMNS as REHEAT_COLUMNS } from './archive-store';
import { withTransaction } from './transaction';

/** Columns a newer step (in event time) takes over in its saga row. */
const LATEST_STEP_COLUMNS = [
  'saga_type',
  'order_id',
  'current_status',
  'last_step',
  'last_trace_id',
  'updated_at',
  'last_recorded_at',
  'last_event_timestamp',
  'last_event_id',
] as const;

const IS_NEWER =
  '(EXCLUDED.last_recorded_at, EXCLUDED.last_event_timestamp, EXCLUDED.last_event_id) > (s.last_recorded_at, s.last_event_timestamp, s.last_event_id)';

/**
 * Inserts the batch's steps (existing event ids are skipped) and folds the
 * inserted ones into their saga rows: counts add up, earliest times win, and
 * the latest step in event time (recorded_at, eventTimestamp, eventId bytes)
 * sets the current state. Each saga appears once, so the upsert is set-based.
 */
const INSERT_STEPS_AND_FOLD_SAGAS = `
WITH input AS (
  -- One jsonb parameter, an array per step in STEP_FIELDS order: parsed once (positions
  -- parse faster than repeated keys), and metadata comes out as jsonb without a second parse.
  SELECT e->>0 AS event_id, e->>1 AS saga_id, e->>2 AS saga_type, e->>3 AS step, e->>4 AS status,
         e->>5 AS order_id, e->>6 AS producer_service, e->>7 AS trace_id, NULLIF(e->8, 'null'::jsonb) AS metadata,
         -- Epoch milliseconds: exact, and cheaper to parse than ISO text.
         timestamptz 'epoch' + (e->9)::bigint * interval '1 millisecond' AS recorded_at,
         timestamptz 'epoch' + (e->10)::bigint * interval '1 millisecond' AS event_timestamp
  FROM jsonb_array_elements($1::jsonb) AS e
), inserted AS (
  INSERT INTO saga_steps (event_id, saga_id, saga_type, step, status, order_id, producer_service, trace_id,
                          metadata, recorded_at, event_timestamp)
  SELECT event_id, saga_id, saga_type, step, status, order_id, producer_service, trace_id,
         metadata, recorded_at, event_timestamp
  FROM input
  ORDER BY event_id COLLATE "C"
  ON CONFLICT (event_id) DO NOTHING
  RETURNING event_id, saga_id, saga_type, step, status, order_id, trace_id, recorded_at, event_timestamp
), per_saga AS (
  SELECT DISTINCT ON (saga_id)
         saga_id, saga_type, order_id, status, step, trace_id, recorded_at, event_timestamp, event_id,
         count(*) OVER w AS step_count,
         min(recorded_at) OVER w AS started_at,
         min(recorded_at) FILTER (WHERE status = 'FAILED') OVER w AS failed_at,
         min(recorded_at) FILTER (WHERE status = 'COMPENSATED') OVER w AS compensated_at
  FROM inserted
  WINDOW w AS (PARTITION BY saga_id)
  ORDER BY saga_id, recorded_at DESC, event_timestamp DESC, event_id COLLATE "C" DESC
), folded AS (
  INSERT INTO saga_instance AS s (saga_id, saga_type, order_id, current_status, last_step, last_trace_id,
                                  started_at, updated_at, step_count, last_recorded_at, last_event_timestamp,
                                  last_event_id, failed_at, compensated_at)
  SELECT saga_id, saga_type, order_id, status, step, trace_id, started_at, recorded_at, step_count,
         recorded_at, event_timestamp, event_id, failed_at, compensated_at
  FROM per_saga
  ORDER BY saga_id
  ON CONFLICT (saga_id) DO UPDATE SET
    step_count = s.step_count + EXCLUDED.step_count,
    started_at = LEAST(s.started_at, EXCLUDED.started_at),
    failed_at = LEAST(s.failed_at, EXCLUDED.failed_at),
    compensated_at = LEAST(s.compensated_at, EXCLUDED.compensated_at),
    ${LATEST_STEP_COLUMNS.map((column) => `${column} = CASE WHEN ${IS_NEWER} THEN EXCLUDED.${column} ELSE s.${column} END`).join(',\n    ')}
  RETURNING saga_id, saga_type, current_status, failed_at, compensated_at
)
-- Usually empty: the ids that were already stored (a redelivery, or a conflict to look at).
SELECT ARRAY(SELECT event_id FROM input EXCEPT SELECT event_id FROM inserted) AS repeated_ids,
       (SELECT coalesce(json_agg(folded), '[]') FROM folded) AS sagas`;

/** Locks the batch's existing saga rows in one order (no deadlocks between writers) and reads their state before. */
const LOCK_SAGAS = `
SELECT saga_id, current_status, failed_at, compensated_at
FROM saga_instance
WHERE saga_id = ANY($1::text[])
ORDER BY saga_id
FOR UPDATE`;

/**
 * A late event for an archived saga (SPEC §6: its rows are in S3, its entry in
 * saga_archive_index). Events the archive already holds are duplicates. For
 * the others, the saga row comes back hot from the index entry (which mirrors
 * the archived saga_instance row) before the fold applies the new steps on
 * top, so the hot row stays the fold of every step — archived and new — and
 * the next archiver run archives the whole timeline again. Runs after
 * LOCK_SAGAS: an archiver transaction deleting one of these sagas has
 * committed by then, so its index entry is visible here.
 */
const REHEAT_ARCHIVED_SAGAS = `
WITH batch AS (
  SELECT * FROM unnest($1::text[], $2::text[]) AS b(saga_id, event_id)
), archived_duplicates AS (
  SELECT b.event_id FROM batch b JOIN saga_archive_index a ON a.saga_id = b.saga_id
  WHERE b.event_id = ANY (a.event_ids)
), reseeded AS (
  INSERT INTO saga_instance (${REHEAT_COLUMNS.join(', ')})
  SELECT ${REHEAT_COLUMNS.map((column) => `a.${column}`).join(', ')}
  FROM saga_archive_index a
  WHERE a.saga_id IN (SELECT saga_id FROM batch WHERE event_id NOT IN (SELECT event_id FROM archived_duplicates))
  ORDER BY a.saga_id
  ON CONFLICT (saga_id) DO NOTHING
  RETURNING saga_id, current_status, failed_at, compensated_at
)
SELECT (SELECT coalesce(array_agg(event_id), '{}') FROM archived_duplicates) AS duplicate_ids,
       (SELECT coalesce(json_agg(reseeded), '[]') FROM reseeded) AS reseeded`;

/** Stored content of events the batch repeats, to tell duplicates from conflicts. */
const STORED_EVENTS = `
SELECT event_id AS "eventId", (extract(epoch FROM event_timestamp) * 1000)::bigint AS "eventTimestamp",
       saga_id AS "sagaId", saga_type AS "sagaType", step, status, order_id AS "orderId", metadata,
       (extract(epoch FROM recorded_at) * 1000)::bigint AS "recordedAt"
FROM saga_steps
WHERE event_id = ANY($1::text[])`;

const INSERT_DEAD_LETTER_ROWS = `
INSERT INTO saga_dead_letter AS d (topic, kafka_partition, kafka_offset, kafka_timestamp, timestamp_type, record_key,
                                   record_value, headers, event_id, saga_id, reason, reason_message, source)
SELECT topic, kafka_partition, kafka_offset, kafka_timestamp, timestamp_type, decode(record_key, 'base64'),
       decode(record_value, 'base64'), headers, event_id, saga_id, reason, reason_message, $2
FROM json_to_recordset($1::json) AS r(
  topic text, kafka_partition integer, kafka_offset bigint, kafka_timestamp timestamptz, timestamp_type text,
  record_key text, record_value text, headers jsonb, event_id text, saga_id text, reason text, reason_message text)
ORDER BY topic, kafka_partition, kafka_offset`;

/** Stored once per Kafka record: a redelivered record does not add a second dead letter. */
const INSERT_DEAD_LETTERS = `${INSERT_DEAD_LETTER_ROWS}
ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING`;

/**
 * The redrive variant: a record that fails again keeps its one row, which
 * takes the new reason, counts the attempt and is pending again. The raw
 * bytes and the first source stay as they were.
 */
const UPSERT_DEAD_LETTERS = `${INSERT_DEAD_LETTER_ROWS}
ON CONFLICT (topic, kafka_partition, kafka_offset) DO UPDATE SET
  reason = EXCLUDED.reason,
  reason_message = EXCLUDED.reason_message,
  last_error = EXCLUDED.reason_message,
  event_id = coalesce(EXCLUDED.event_id, d.event_id),
  saga_id = coalesce(EXCLUDED.saga_id, d.saga_id),
  attempts = d.attempts + 1,
  status = 'PENDING',
  resolved_at = NULL,
  updated_at = now()`;

/** Sagas already locked in this transaction (by LOCK_SAGAS), with their state before the batch. */
interface LockedSagas {
  readonly sagaIds: readonly string[];
  readonly rows: readonly SagaBefore[];
}

interface SagaBefore {
  saga_id: string;
  current_status: SagaStatus;
  failed_at: Date | string | null;
  compensated_at: Date | string | null;
}

interface SagaAfter {
  saga_id: string;
  saga_type: string;
  current_status: SagaStatus;
  failed_at: string | null;
  compensated_at: string | null;
}

/** A step as INSERT_STEPS_AND_FOLD_SAGAS reads it: positions, not keys. */
function stepJson({ event, producerService, traceId }: StepRow) {
  return [
    event.eventId,
    event.sagaId,
    event.sagaType,
    event.step,
    event.status,
    event.orderId,
    producerService,
    traceId,
    event.metadata,
    event.recordedAt,
    event.eventTimestamp,
  ];
}

/**
 * Headers in a lossless, storable form: key as text (made storable), value as
 * base64 of its bytes.
 */
export function storableHeaders(record: KafkaRecord): Array<{ key: string; value: string }> {
  return record.headers.flatMap((header) =>
    Object.entries(header).map(([key, value]) => ({
      key: storableText(key, 500),
      value: headerBytes(value).toString('base64'),
    })),
  );
}

function deadLetterJson(draft: DeadLetterDraft) {
  const { record } = draft;
  return {
    topic: storableText(record.topic, 500),
    kafka_partition: record.partition,
    kafka_offset: record.offset,
    kafka_timestamp: isoOrNull(record.timestamp),
    timestamp_type: storableText(record.timestampType, 50),
    record_key: record.key ?? null,
    record_value: record.value ?? null,
    headers: storableHeaders(record),
    event_id: draft.eventId,
    saga_id: draft.sagaId,
    reason: draft.reason,
    reason_message: storableText(draft.message),
  };
}

function oncePerRecord(drafts: readonly DeadLetterDraft[]): DeadLetterDraft[] {
  const seen = new Set<string>();
  return drafts.filter((draft) => {
    const { topic, partition, offset } = draft.record;
    const key = JSON.stringify([topic, partition, offset]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function toMillis(value: Date | string | null): number | null {
  return value === null ? null : new Date(value).getTime();
}

function sagaChange(before: SagaBefore | undefined, after: SagaAfter): SagaChange {
  const failedBefore = toMillis(before?.failed_at ?? null);
  const compensatedBefore = toMillis(before?.compensated_at ?? null);
  const failedAfter = toMillis(after.failed_at);
  const compensatedAfter = toMillis(after.compensated_at);
  const bothKnownBefore = failedBefore !== null && compensatedBefore !== null;
  const bothKnownAfter = failedAfter !== null && compensatedAfter !== null;
  return {
    sagaId: after.saga_id,
    sagaType: after.saga_type,
    previousStatus: before?.current_status ?? null,
    currentStatus: after.current_status,
    enteredFailed: failedBefore === null && failedAfter !== null,
    enteredCompensated: compensatedBefore === null && compensatedAfter !== null,
    compensationSeconds:
      !bothKnownBefore && bothKnownAfter && compensatedAfter >= failedAfter
        ? (compensatedAfter - failedAfter) / 1000
        : null,
  };
}

export interface PgIngestStoreOptions {
  /** Recorded with each dead letter: which path stored it (`consumer`, `redrive`). */
  readonly source?: string;
  /**
   * What happens when a dead letter's Kafka record already has a row: `keep`
   * (the consumer: a redelivery changes nothing) or `update` (redrive: the
   * row records the new reason and one more attempt).
   * @default 'keep'
   */
  readonly existingDeadLetter?: 'keep' | 'update';
}

/** `IngestStore` on PostgreSQL: a handful of set-based statements per batch, one transaction. */
export class PgIngestStore implements IngestStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgIngestStoreOptions = {},
  ) {}

  apply(plan: BatchPlan | Promise<BatchPlan>, hints?: IngestHints): Promise<AppliedBatch> {
    return withTransaction(
      this.pool,
      async (client) => {
        // Lock the sagas the records are keyed by while the batch is still being decoded.
        const hinted = [...new Set(hints?.sagaIds ?? [])];
        const early = hinted.length > 0 ? client.query<SagaBefore>(LOCK_SAGAS, [hinted]) : undefined;
        early?.catch(() => undefined);
        const ready = await plan;
        return this.applyIn(client, ready, early ? { sagaIds: hinted, rows: (await early).rows } : undefined);
      },
      { what: 'ingest' },
    );
  }

  /** Applies a plan inside a transaction the caller owns (the redrive path adds its own statements). */
  async applyIn(client: pg.ClientBase, plan: BatchPlan, locked?: LockedSagas): Promise<AppliedBatch> {
    const outcomes: RecordOutcome[] = plan.duplicates.map(({ ref, eventId }) => ({
      ref,
      outcome: 'duplicate',
      eventId,
    }));
    const deadLetters: DeadLetterDraft[] = [...plan.deadLetters];
    let sagaChanges: SagaChange[] = [];

    let steps = plan.steps;
    let stepsParam = '';
    const beforeById = new Map<string, SagaBefore>();
    if (steps.length > 0) {
      const lockedIds = new Set(locked?.sagaIds ?? []);
      for (const row of locked?.rows ?? []) beforeById.set(row.saga_id, row);
      // Sagas whose records were keyed by something else than their id are locked now.
      const unlocked = [...new Set(steps.map((step) => step.event.sagaId))].filter(
        (id) => !lockedIds.has(id),
      );
      if (unlocked.length > 0) {
        const before = await client.query<SagaBefore>(LOCK_SAGAS, [unlocked]);
        for (const row of before.rows) beforeById.set(row.saga_id, row);
      }
      const reheating = client.query<{ duplicate_ids: string[]; reseeded: SagaBefore[] }>(
        REHEAT_ARCHIVED_SAGAS,
        [steps.map(({ event }) => event.sagaId), steps.map(({ event }) => event.eventId)],
      );
      // Serialized while the database re-heats; redone in the rare case the archive held some of the events.
      stepsParam = JSON.stringify(steps.map(stepJson));
      const reheat = await reheating;
      // A re-seeded saga's state before this batch is its archived state: metrics count transitions from there.
      for (const row of reheat.rows[0]?.reseeded ?? []) beforeById.set(row.saga_id, row);
      const archivedDuplicates = new Set(reheat.rows[0]?.duplicate_ids ?? []);
      if (archivedDuplicates.size > 0) {
        for (const step of steps) {
          if (archivedDuplicates.has(step.event.eventId))
            outcomes.push({ ref: refOf(step.record), outcome: 'duplicate', eventId: step.event.eventId });
        }
        steps = steps.filter((step) => !archivedDuplicates.has(step.event.eventId));
        stepsParam = JSON.stringify(steps.map(stepJson));
      }
    }
    if (steps.length > 0) {
      const written = await client.query<{ repeated_ids: string[]; sagas: SagaAfter[] }>(
        INSERT_STEPS_AND_FOLD_SAGAS,
        [stepsParam],
      );
      const row = written.rows[0];
      const repeatedIds = new Set(row?.repeated_ids ?? []);
      sagaChanges = (row?.sagas ?? []).map((after) => sagaChange(beforeById.get(after.saga_id), after));

      const repeated = steps.filter((step) => repeatedIds.has(step.event.eventId));
      const stored = new Map<string, SagaEvent>();
      if (repeated.length > 0) {
        const found = await client.query<SagaEvent>(STORED_EVENTS, [
          repeated.map((step) => step.event.eventId),
        ]);
        for (const event of found.rows) stored.set(event.eventId, event);
      }
      for (const step of steps) {
        const ref = refOf(step.record);
        const { eventId } = step.event;
        if (!repeatedIds.has(eventId)) {
          outcomes.push({ ref, outcome: 'inserted', eventId });
          continue;
        }
        const existing = stored.get(eventId);
        // A row gone since the insert (archived meanwhile) was there: a duplicate, not a conflict.
        if (existing === undefined || sameEventContent(existing, step.event)) {
          outcomes.push({ ref, outcome: 'duplicate', eventId });
        } else {
          deadLetters.push(conflictDeadLetter(step, 'in an earlier batch'));
        }
      }
    }

    if (deadLetters.length > 0) {
      const update = this.options.existingDeadLetter === 'update';
      await client.query(update ? UPSERT_DEAD_LETTERS : INSERT_DEAD_LETTERS, [
        // An upsert may touch a row once per statement: one draft per Kafka record.
        JSON.stringify((update ? oncePerRecord(deadLetters) : deadLetters).map(deadLetterJson)),
        this.options.source ?? 'consumer',
      ]);
      for (const draft of deadLetters) {
        outcomes.push({
          ref: refOf(draft.record),
          outcome: 'dead-lettered',
          eventId: draft.eventId,
          reason: draft.reason,
          message: draft.message,
        });
      }
    }
    return { outcomes: outcomes.sort((a, b) => compareRefs(a.ref, b.ref)), sagaChanges };
  }
}
