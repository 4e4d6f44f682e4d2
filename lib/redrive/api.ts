import type pg from 'pg';
import type { DeadLetterListRow } from '../adapters/pg/dead-letter-store';
import { deadLetterListSql, deadLetterSql } from '../adapters/pg/dead-letter-store';
import { classifyDbError } from '../adapters/pg/transaction';
import { TransientError } from '../errors';
import type { SagaChange } from '../ingest/ingest';
import type { DeadLetterListQuery, ReplayRequest } from './options';
import { MAX_REDRIVE_LIMIT } from './options';
import type { RedriveDeps } from './redrive';
import { redrive } from './redrive';
import type { RedriveReason, RedriveResult } from './report';

/**
 * A replay stopped before it finished (the database or the schema registry
 * went away): what was applied stays applied, and repeating the request
 * reports it as ALREADY_STORED.
 */
export class ReplayInterruptedError extends TransientError {}

/**
 * Per event: `REPLAYED` (stored by this request), `ALREADY_STORED` (it was
 * stored before: a repeated request succeeds), `FAILED` (a dead letter of it
 * failed again and stays pending, see `reason`), `SKIPPED` (another redrive
 * holds it right now: retry), `NOT_FOUND` (no dead letter and not stored).
 */
export type ReplayStatus = 'REPLAYED' | 'ALREADY_STORED' | 'FAILED' | 'SKIPPED' | 'NOT_FOUND';

export interface ReplayEventResult {
  /** Null only for a dead letter asked for by id whose value never decoded far enough to name its event. */
  readonly eventId: string | null;
  readonly status: ReplayStatus;
  readonly reason?: RedriveReason;
  readonly message?: string;
  /** The dead-letter rows of this event that the request looked at. */
  readonly deadLetterIds: readonly string[];
}

/** SPEC §4's replay response, extended with `skipped`, `dryRun`, reasons and dead-letter ids. */
export interface ReplayResponse {
  readonly requested: number;
  readonly successful: number;
  readonly failed: number;
  readonly skipped: number;
  readonly dryRun: boolean;
  readonly results: readonly ReplayEventResult[];
}

function aggregate(eventId: string, results: readonly RedriveResult[], stored: boolean): ReplayEventResult {
  const deadLetterIds = results
    .filter((result) => !result.id.startsWith('event:'))
    .map((result) => result.id);
  const base = { eventId, deadLetterIds };
  const failed = results.find((result) => result.status === 'FAILED');
  if (failed) {
    return {
      ...base,
      status: 'FAILED',
      ...(failed.reason ? { reason: failed.reason } : {}),
      ...(failed.message ? { message: failed.message } : {}),
    };
  }
  if (results.some((result) => result.status === 'REPLAYED')) return { ...base, status: 'REPLAYED' };
  if (results.some((result) => result.status === 'ALREADY_STORED'))
    return { ...base, status: 'ALREADY_STORED' };
  const busy = results.find(
    (result) =>
      result.status === 'SKIPPED' && (result.reason === 'LOCKED' || result.reason === 'NOT_REACHED'),
  );
  if (busy) return { ...base, status: 'SKIPPED', ...(busy.reason ? { reason: busy.reason } : {}) };
  return stored
    ? { ...base, status: 'ALREADY_STORED' }
    : { ...base, status: 'NOT_FOUND', reason: 'NOT_FOUND' };
}

/** A dead letter asked for by its id: what the redrive did with that one row. */
function resultOfRow(id: string, result: RedriveResult | undefined): ReplayEventResult {
  const base = { eventId: result?.eventId ?? null, deadLetterIds: [id] };
  const detail = {
    ...(result?.reason ? { reason: result.reason } : {}),
    ...(result?.message ? { message: result.message } : {}),
  };
  switch (result?.status) {
    case 'REPLAYED':
    case 'ALREADY_STORED':
      return { ...base, status: result.status };
    case 'FAILED':
    case 'DEAD_LETTERED':
      return { ...base, status: 'FAILED', ...detail };
    case 'SKIPPED':
      if (result.reason === 'ALREADY_REPLAYED') return { ...base, status: 'ALREADY_STORED' };
      if (result.reason !== 'NOT_FOUND') return { ...base, status: 'SKIPPED', ...detail };
      return { ...base, status: 'NOT_FOUND', reason: 'NOT_FOUND' };
    default:
      return { ...base, status: 'NOT_FOUND', reason: 'NOT_FOUND' };
  }
}

export interface ReplayObserver {
  /** The sagas the replay changed (not called for a dry run), for the ingest metrics. */
  readonly onSagaChanges?: (changes: readonly SagaChange[]) => void;
}

/**
 * `POST /internal/v1/sagas/replay`: replays the pending table dead letters of
 * these events (SPEC §4), or these dead-letter rows (`deadLetterIds`: also the
 * records that never decoded far enough to have an event id, e.g. an unknown
 * schema id), through the redrive core (same locks, same ingest path). Whole
 * discarded batches in S3 are the redrive function's job (`source: "s3"`).
 */
export async function replayDeadLetters(
  deps: RedriveDeps,
  request: ReplayRequest,
  observer: ReplayObserver = {},
): Promise<ReplayResponse> {
  const ids = request.deadLetterIds ? [...new Set(request.deadLetterIds)] : undefined;
  const eventIds = ids ? [] : [...new Set(request.eventIds)];
  const run = await redrive(
    {
      sources: ['table'],
      dryRun: request.dryRun,
      limit: MAX_REDRIVE_LIMIT,
      ...(ids ? { ids } : { eventIds }),
    },
    { ...deps, bucket: undefined },
  );
  // A dry run rolled its transactions back: no saga changed.
  if (!request.dryRun && run.sagaChanges.length > 0) observer.onSagaChanges?.(run.sagaChanges);
  if (run.errors.length > 0) {
    // What was applied stays applied; a repeated request reports it as ALREADY_STORED.
    throw new ReplayInterruptedError(`replay interrupted: ${run.errors.join('; ')}; retry the request`);
  }
  let results: ReplayEventResult[];
  if (ids) {
    const byId = new Map(run.results.map((result) => [result.id, result]));
    results = ids.map((id) => resultOfRow(id, byId.get(id)));
  } else {
    const byEvent = new Map<string, RedriveResult[]>();
    for (const result of run.results) {
      if (result.eventId === null) continue;
      const list = byEvent.get(result.eventId) ?? [];
      list.push(result);
      byEvent.set(result.eventId, list);
    }
    let stored: Set<string>;
    try {
      stored = await deadLetterSql.storedEventIds(deps.pool, eventIds);
    } catch (error) {
      throw classifyDbError(error, 'replay');
    }
    results = eventIds.map((eventId) => aggregate(eventId, byEvent.get(eventId) ?? [], stored.has(eventId)));
  }
  return {
    requested: results.length,
    successful: results.filter((result) => result.status === 'REPLAYED' || result.status === 'ALREADY_STORED')
      .length,
    failed: results.filter((result) => result.status === 'FAILED' || result.status === 'NOT_FOUND').length,
    skipped: results.filter((result) => result.status === 'SKIPPED').length,
    dryRun: request.dryRun,
    results,
  };
}

/** One dead letter as the admin API shows it: raw key and value bytes in base64, timestamps ISO 8601. */
export interface DeadLetterView {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly kafkaTimestamp: string | null;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: ReadonlyArray<{ key: string; value: string }>;
  readonly eventId: string | null;
  readonly sagaId: string | null;
  readonly reason: string;
  readonly reasonMessage: string;
  readonly status: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly source: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly resolvedAt: string | null;
}

export interface DeadLetterPage {
  readonly content: readonly DeadLetterView[];
  readonly page: { number: number; size: number; totalElements: number; totalPages: number };
}

function viewOf(row: DeadLetterListRow): DeadLetterView {
  return {
    id: row.id,
    topic: row.topic,
    partition: row.kafka_partition,
    offset: Number(row.kafka_offset),
    kafkaTimestamp: row.kafka_timestamp?.toISOString() ?? null,
    key: row.record_key?.toString('base64') ?? null,
    value: row.record_value?.toString('base64') ?? null,
    headers: row.headers,
    eventId: row.event_id,
    sagaId: row.saga_id,
    reason: row.reason,
    reasonMessage: row.reason_message,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    source: row.source,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    resolvedAt: row.resolved_at?.toISOString() ?? null,
  };
}

/** `GET /internal/v1/dead-letters`: the dead-letter table, filtered and paged like the saga search. */
export async function listDeadLetters(pool: pg.Pool, query: DeadLetterListQuery): Promise<DeadLetterPage> {
  const { rows, total } = await deadLetterListSql.page(
    pool,
    {
      reason: query.reason,
      status: query.status === 'ALL' ? undefined : query.status,
      source: query.source,
      eventId: query.eventId,
      sagaId: query.sagaId,
      fromDate: query.fromDate,
      toDate: query.toDate,
    },
    { number: query.page, size: query.size, newestFirst: query.sort === 'createdAt,desc' },
  );
  return {
    content: rows.map(viewOf),
    page: {
      number: query.page,
      size: query.size,
      totalElements: total,
      totalPages: Math.ceil(total / query.size),
    },
  };
}
