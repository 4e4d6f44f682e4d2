import type pg from 'pg';
import { deadLetterBatchSql } from '../adapters/pg/dead-letter-batch-store';
import type { DeadLetterRow } from '../adapters/pg/dead-letter-store';
import { deadLetterSql } from '../adapters/pg/dead-letter-store';
import { PgIngestStore } from '../adapters/pg/ingest-store';
import { classifyDbError, withTransaction } from '../adapters/pg/transaction';
import type { DeadLetterBucket, DeadLetterObject } from '../adapters/s3-dead-letter-bucket';
import type { WriterSchemas } from '../adapters/schema-registry';
import { TransientError } from '../errors';
import type { DecodeOptions } from '../ingest/decode';
import { decodeRecords } from '../ingest/decode';
import type { SagaChange } from '../ingest/ingest';
import { ingestRecords } from '../ingest/ingest';
import type { KafkaRecord, RecordRef } from '../ingest/kafka-event';
import { formatRef, refOf } from '../ingest/kafka-event';
import { kafkaRecordOf, refOfRow } from './dead-letter-record';
import { parseOnFailureRecord } from './on-failure-record';
import type { RedriveOptions } from './options';
import { resolveSources } from './options';
import type { RedriveReason, RedriveReport, RedriveResult } from './report';
import { buildReport, isSuccess, refKey, resultOf } from './report';

/** Dead letters re-applied per transaction: bounds lock time and memory. */
export const DEFAULT_REDRIVE_BATCH_SIZE = 500;

/** Written with dead letters that redrive stores (records of S3 batches that fail for good). */
export const REDRIVE_DEAD_LETTER_SOURCE = 'redrive-s3';

export interface RedriveLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface RedriveDeps {
  readonly pool: pg.Pool;
  /**
   * Writer schemas for this run. Give each run fresh ones: a schema registered
   * a moment ago (the usual fix for UNKNOWN_SCHEMA_ID) must be found.
   */
  readonly schemas: WriterSchemas;
  readonly decode?: DecodeOptions;
  /** The on-failure destination bucket; without it only the table is redriven. */
  readonly bucket?: DeadLetterBucket;
  /** Only objects under this prefix of the bucket are redriven. */
  readonly prefix?: string;
  readonly batchSize?: number;
  /** Asked before each unit of work; true stops the run cleanly (the function running out of time). */
  readonly shouldStop?: () => boolean;
  readonly log?: RedriveLog;
}

/** The report plus what metrics need. */
export interface RedriveRun extends RedriveReport {
  readonly sagaChanges: readonly SagaChange[];
}

interface Sink {
  readonly results: RedriveResult[];
  readonly errors: string[];
  readonly sagaChanges: SagaChange[];
  incomplete: boolean;
}

class DryRunRollback extends Error {
  constructor(readonly value: unknown) {
    super('dry run: rolled back');
  }
}

/**
 * Runs `work` in one transaction; a dry run executes exactly the same
 * statements and rolls them back, so its report is what a real run would do.
 */
async function inTransaction<T>(
  pool: pg.Pool,
  dryRun: boolean,
  what: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  try {
    return await withTransaction(
      pool,
      async (client) => {
        const value = await work(client);
        if (dryRun) throw new DryRunRollback(value);
        return value;
      },
      { what },
    );
  } catch (error) {
    if (error instanceof DryRunRollback) return error.value as T;
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The consume function's ingest path (decode, plan, apply), inside the redrive's transaction. */
function ingestIn(client: pg.ClientBase, records: readonly KafkaRecord[], deps: RedriveDeps) {
  const store = new PgIngestStore(deps.pool, {
    source: REDRIVE_DEAD_LETTER_SOURCE,
    existingDeadLetter: 'update',
  });
  return ingestRecords(records, {
    ...deps.decode,
    schemas: deps.schemas,
    store: { apply: async (plan) => store.applyIn(client, await plan) },
  });
}

function stopRequested(deps: RedriveDeps, sink: Sink): boolean {
  if (!deps.shouldStop?.()) return false;
  const message = 'stopped early: out of time; run again to continue';
  sink.incomplete = true;
  if (!sink.errors.includes(message)) sink.errors.push(message);
  return true;
}

// ---------------------------------------------------------------- table ----

async function redriveTable(deps: RedriveDeps, options: RedriveOptions, sink: Sink): Promise<void> {
  const batchSize = deps.batchSize ?? DEFAULT_REDRIVE_BATCH_SIZE;
  const filter = { ids: options.ids, eventIds: options.eventIds, since: options.since };
  const touched = new Set<string>();
  let after: RecordRef | null = null;
  let remaining = options.limit;
  let exhausted = false;
  while (remaining > 0 && !stopRequested(deps, sink)) {
    const want = Math.min(batchSize, remaining);
    let locked: DeadLetterRow[] = [];
    try {
      const chunk = await inTransaction(deps.pool, options.dryRun, 'dead-letter redrive', async (client) => {
        locked = await deadLetterSql.lockPending(client, filter, after, want);
        if (locked.length === 0) return null;
        const rowsByRef = new Map(locked.map((row) => [refKey(refOfRow(row)), row]));
        const ingested = await ingestIn(client, locked.map(kafkaRecordOf), deps);
        const results = ingested.outcomes.map((outcome): RedriveResult => {
          const row = rowsByRef.get(refKey(outcome.ref));
          const result = resultOf(outcome, {
            id: row?.id ?? formatRef(outcome.ref),
            source: 'table',
            failedStatus: 'FAILED',
          });
          // A value that still does not decode shows no event id: the row remembers it.
          return { ...result, eventId: result.eventId ?? row?.event_id ?? null };
        });
        await deadLetterSql.markReplayed(
          client,
          results.filter((result) => isSuccess(result.status)).map((result) => result.id),
        );
        return { results, sagaChanges: ingested.sagaChanges };
      });
      if (chunk === null) {
        exhausted = true;
        break;
      }
      sink.results.push(...chunk.results);
      sink.sagaChanges.push(...chunk.sagaChanges);
      for (const row of locked) touched.add(row.id);
      const last = locked[locked.length - 1];
      if (last) after = refOfRow(last);
      remaining -= locked.length;
      if (locked.length < want) exhausted = true;
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      const message = messageOf(error);
      for (const row of locked) {
        touched.add(row.id);
        sink.results.push({
          id: row.id,
          source: 'table',
          eventId: row.event_id,
          status: 'FAILED',
          reason: 'TRANSIENT',
          message,
          record: formatRef(refOfRow(row)),
        });
      }
      if (!options.dryRun && locked.length > 0) {
        // Best effort: with the database gone this fails too, and the rows simply stay as they were.
        await deadLetterSql
          .recordAttempt(
            deps.pool,
            locked.map((row) => row.id),
            message,
          )
          .catch(() => undefined);
      }
      deps.log?.warn('table redrive stopped by an outage', { error: message });
      sink.errors.push(`table: ${message}`);
      sink.incomplete = true;
      return;
    }
  }
  try {
    await reportUnprocessedRequests(deps, options, sink, touched, exhausted);
  } catch (error) {
    sink.errors.push(`table: cannot look up the requested dead letters: ${messageOf(error)}`);
    sink.incomplete = true;
  }
}

/** Requested ids and event ids that this run did not replay get a result saying why. */
async function reportUnprocessedRequests(
  deps: RedriveDeps,
  options: RedriveOptions,
  sink: Sink,
  touched: ReadonlySet<string>,
  exhausted: boolean,
): Promise<void> {
  if (!options.ids && !options.eventIds) return;
  const pendingReason: RedriveReason = exhausted ? 'LOCKED' : 'NOT_REACHED';
  const pendingMessage = exhausted
    ? 'pending, but held by another redrive or outside `since`'
    : 'pending; the run stopped (limit, time or outage) before reaching it';
  const skip = (id: string, eventId: string | null, status: string | null): RedriveResult => {
    if (status === null)
      return {
        id,
        source: 'table',
        eventId,
        status: 'SKIPPED',
        reason: 'NOT_FOUND',
        message: 'no such dead letter',
      };
    if (status === 'PENDING')
      return {
        id,
        source: 'table',
        eventId,
        status: 'SKIPPED',
        reason: pendingReason,
        message: pendingMessage,
      };
    return { id, source: 'table', eventId, status: 'SKIPPED', reason: 'ALREADY_REPLAYED' };
  };
  if (options.ids) {
    const rows = await deadLetterSql.statusOfIds(deps.pool, options.ids);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const id of options.ids) {
      if (touched.has(id)) continue;
      const row = byId.get(id);
      if (row && options.eventIds && (row.event_id === null || !options.eventIds.includes(row.event_id)))
        continue;
      sink.results.push(skip(id, row?.event_id ?? null, row?.status ?? null));
    }
    return;
  }
  const eventIds = options.eventIds ?? [];
  const rows = await deadLetterSql.statusOfEventIds(deps.pool, eventIds);
  const seen = new Set<string>();
  for (const row of rows) {
    if (row.event_id !== null) seen.add(row.event_id);
    if (!touched.has(row.id)) sink.results.push(skip(row.id, row.event_id, row.status));
  }
  for (const eventId of eventIds) {
    if (!seen.has(eventId)) sink.results.push({ ...skip(`event:${eventId}`, eventId, null) });
  }
}

// ------------------------------------------------------------------- S3 ----

function objectUri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

function recordResultId(bucket: string, key: string, record: RecordRef): string {
  return `${objectUri(bucket, key)}#${formatRef(record)}`;
}

async function selectObjects(
  bucket: DeadLetterBucket,
  options: RedriveOptions,
  prefix: string | undefined,
): Promise<DeadLetterObject[]> {
  const listed = await bucket.list({
    ...(prefix ? { prefix } : {}),
    ...(options.since ? { since: options.since } : {}),
  });
  const wanted = options.keys ? new Set(options.keys) : undefined;
  return wanted ? listed.filter((object) => wanted.has(object.key)) : listed;
}

/** True when the batch carries one of the requested events (decoded with the same decoder). */
async function batchHoldsEvents(
  records: readonly KafkaRecord[],
  eventIds: readonly string[],
  deps: RedriveDeps,
): Promise<boolean> {
  const wanted = new Set(eventIds);
  const decoded = await decodeRecords(records, deps.schemas, deps.decode);
  return decoded.some((item) => {
    const eventId = item.ok ? item.event.eventId : item.eventId;
    return eventId !== null && wanted.has(eventId);
  });
}

async function redriveBucket(
  deps: RedriveDeps,
  bucket: DeadLetterBucket,
  options: RedriveOptions,
  sink: Sink,
): Promise<void> {
  let objects: DeadLetterObject[];
  try {
    objects = await selectObjects(bucket, options, deps.prefix);
  } catch (error) {
    sink.errors.push(`s3: cannot list ${objectUri(bucket.name, deps.prefix ?? '')}: ${messageOf(error)}`);
    sink.incomplete = true;
    return;
  }
  let taken = 0;
  for (const listed of objects) {
    if (taken >= options.limit) break;
    if (stopRequested(deps, sink)) return;
    const uri = objectUri(bucket.name, listed.key);
    let read: { body: string; etag: string } | null;
    try {
      read = await bucket.get(listed.key);
    } catch (error) {
      sink.errors.push(`s3: cannot read ${uri}: ${messageOf(error)}`);
      sink.incomplete = true;
      return;
    }
    // Gone since the listing: another run redrove and moved it.
    if (read === null) continue;
    const { body, etag } = read;
    const object = { bucket: bucket.name, key: listed.key, etag };
    const parsed = parseOnFailureRecord(body);
    if (!parsed.ok) {
      if (options.keys === undefined && options.eventIds !== undefined) continue;
      taken++;
      sink.results.push({
        id: uri,
        source: 's3',
        eventId: null,
        status: 'FAILED',
        reason: parsed.reason,
        message: parsed.message,
      });
      deps.log?.warn('unusable on-failure record left in place', { object: uri, reason: parsed.reason });
      if (!options.dryRun) {
        const facts = {
          condition: parsed.record?.requestContext.condition ?? null,
          recordCount: parsed.record?.KafkaBatchInfo.batchSize ?? null,
        };
        await deadLetterBatchSql
          .recordAttempt(deps.pool, object, facts, `${parsed.reason}: ${parsed.message}`)
          .catch((error: unknown) =>
            sink.errors.push(`s3: cannot record the attempt on ${uri}: ${messageOf(error)}`),
          );
      }
      continue;
    }
    const { records } = parsed;
    const facts = { condition: parsed.record.requestContext.condition, recordCount: records.length };
    try {
      if (options.eventIds && !(await batchHoldsEvents(records, options.eventIds, deps))) continue;
      taken++;
      if (!options.dryRun) {
        await deadLetterBatchSql.ensure(deps.pool, object, facts).catch((error: unknown) => {
          throw classifyDbError(error, 'on-failure batch claim');
        });
      }
      const outcome = await inTransaction(
        deps.pool,
        options.dryRun,
        'on-failure batch redrive',
        async (client) => {
          const claim = await deadLetterBatchSql.claim(client, object, facts, { insert: options.dryRun });
          if (claim.kind === 'locked' || claim.status === 'REPLAYED') {
            const reason = claim.kind === 'locked' ? 'LOCKED' : 'ALREADY_REPLAYED';
            return {
              move: claim.kind === 'claimed',
              appliedHere: false,
              sagaChanges: [] as SagaChange[],
              results: records.map(
                (record): RedriveResult => ({
                  id: recordResultId(bucket.name, listed.key, refOf(record)),
                  source: 's3',
                  eventId: null,
                  status: 'SKIPPED',
                  reason,
                  record: formatRef(refOf(record)),
                }),
              ),
            };
          }
          const ingested = await ingestIn(client, records, deps);
          const results = ingested.outcomes.map((item) =>
            resultOf(item, {
              id: recordResultId(bucket.name, listed.key, item.ref),
              source: 's3',
              failedStatus: 'DEAD_LETTERED',
            }),
          );
          // A record that also waits as a table dead letter (stored once per Kafka record) is resolved with it.
          await deadLetterSql.resolveByRefs(
            client,
            ingested.outcomes.filter((item) => item.outcome !== 'dead-lettered').map((item) => item.ref),
          );
          await deadLetterBatchSql.markReplayed(client, claim.id, records.length);
          return { move: true, appliedHere: true, sagaChanges: ingested.sagaChanges, results };
        },
      );
      sink.results.push(...outcome.results);
      sink.sagaChanges.push(...outcome.sagaChanges);
      if (outcome.move && !options.dryRun)
        await moveRedriven(deps, bucket, object, sink, outcome.appliedHere);
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      const message = messageOf(error);
      for (const record of records) {
        sink.results.push({
          id: recordResultId(bucket.name, listed.key, refOf(record)),
          source: 's3',
          eventId: null,
          status: 'FAILED',
          reason: 'TRANSIENT',
          message,
          record: formatRef(refOf(record)),
        });
      }
      if (!options.dryRun) {
        await deadLetterBatchSql.recordAttempt(deps.pool, object, facts, message).catch(() => undefined);
      }
      deps.log?.warn('S3 redrive stopped by an outage', { object: uri, error: message });
      sink.errors.push(`s3: ${uri}: ${message}`);
      sink.incomplete = true;
      return;
    }
  }
}

/** The batch is applied (the database says so); moving it is owed and retried by later runs if it fails now. */
async function moveRedriven(
  deps: RedriveDeps,
  bucket: DeadLetterBucket,
  object: { bucket: string; key: string; etag: string },
  sink: Sink,
  appliedHere: boolean,
): Promise<void> {
  const uri = objectUri(object.bucket, object.key);
  try {
    const moved = await bucket.moveToRedriven(object.key, object.etag);
    if (moved === 'changed') {
      // A batch another run applied is that run's to move: racing it for the object is expected, not an error.
      if (!appliedHere) {
        deps.log?.info('redriven batch moved by another run', { object: uri });
        return;
      }
      sink.errors.push(`s3: ${uri} changed since it was read; the new body is left for the next run`);
      return;
    }
    await deadLetterBatchSql.markMoved(deps.pool, object);
  } catch (error) {
    deps.log?.warn('redriven batch not moved yet', { object: uri, error: messageOf(error) });
    sink.errors.push(
      `s3: ${uri} is applied but could not be moved to redriven/ (${messageOf(error)}); the next run moves it`,
    );
  }
}

// ------------------------------------------------------------------ run ----

/**
 * Replays dead letters through the consume function's ingest path: pending
 * table rows (per-record failures) and S3 on-failure batches (invocations the
 * event source mapping gave up on). Each unit is claimed with a row lock
 * (SKIP LOCKED), applied and resolved in one transaction, so concurrent runs
 * and the consumer never apply an event twice and never lose a dead letter.
 */
export async function redrive(options: RedriveOptions, deps: RedriveDeps): Promise<RedriveRun> {
  const sources = resolveSources(options, deps.bucket !== undefined);
  const sink: Sink = { results: [], errors: [], sagaChanges: [], incomplete: false };
  if (sources.includes('table')) await redriveTable(deps, options, sink);
  if (sources.includes('s3') && deps.bucket) await redriveBucket(deps, deps.bucket, options, sink);
  const report = buildReport(options.dryRun, sink.results, sink.errors, sink.incomplete);
  return { ...report, sagaChanges: sink.sagaChanges };
}
