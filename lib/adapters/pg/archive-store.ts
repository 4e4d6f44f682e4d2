import type pg from 'pg';
import type { EligibilityCriteria } from '../../archive/eligibility';
import { ARCHIVE_FORMAT_VERSION } from '../../archive/format';
import type {
  ArchiveStore,
  CandidateSaga,
  CommitResult,
  IndexEntry,
  ObjectManifest,
  ObjectToVerify,
  ScanCursor,
  VerifyStore,
} from '../../archive/ports';
import { SagaTrackerError } from '../../errors';
import { withTransaction } from './transaction';

/** The archiver lost its lease to another run: it must stop before committing anything more. */
export class ArchiveLeaseLostError extends SagaTrackerError {}

const LEASE_NAME = 'archiver';

/**
 * saga_instance columns the archive index mirrors (and ingest re-seeds a
 * re-heated saga from): the summary the API and search answer with, so an
 * archived saga found by a search reads the same as when it was hot.
 */
export const SAGA_INDEX_COLUMNS = [
  'saga_id',
  'saga_type',
  'order_id',
  'current_status',
  'last_step',
  'last_trace_id',
  'started_at',
  'updated_at',
  'created_at',
  'step_count',
  'last_recorded_at',
  'last_event_timestamp',
  'last_event_id',
  'failed_at',
  'compensated_at',
  'status_overridden_at',
] as const;

/**
 * Row JSON is rendered by PostgreSQL in these settings, so the same row always
 * gives the same text (the version hash) and timestamps keep their microseconds.
 */
const UTC_SESSION =
  "SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL bytea_output = 'hex'";

/** The eligibility rules as SQL over `saga_instance s`; parameters $1–$5 (see `eligibilityParams`). */
const ELIGIBLE = `
  s.updated_at < $2::timestamptz
  AND s.updated_at < coalesce(r.cutoff, $3::timestamptz)
  AND s.current_status = ANY (coalesce(r.statuses, $4::text[]))
  AND ($5::text[] IS NULL OR s.saga_type = ANY ($5::text[]))`;

const RULES = `rules AS (
  SELECT * FROM json_to_recordset($1::json) AS r(saga_type text, cutoff timestamptz, statuses text[])
)`;

function eligibilityParams(criteria: EligibilityCriteria): unknown[] {
  return [
    JSON.stringify(criteria.typeRules),
    criteria.latestCutoff,
    criteria.defaultCutoff,
    criteria.defaultStatuses,
    criteria.sagaTypes ?? null,
  ];
}

const STEP_ORDER = 'x.recorded_at, x.event_timestamp, x.event_id';

/**
 * The candidate's columns, over `saga_instance s`, its archive index row `a`
 * and a lateral `st` of its steps. One statement, one snapshot: the line and
 * the version describe the same state of the saga.
 */
const CANDIDATE_COLUMNS = `
  s.saga_id, s.saga_type,
  to_char(s.updated_at, 'YYYY-MM-DD') AS partition_date,
  s.updated_at::text AS cursor_updated_at,
  md5(row_to_json(s)::text) AS version,
  (a.saga_id IS NOT NULL) AS reheated,
  st.event_ids, st.step_count,
  -- status_overrides only when there are some: the lines of other sagas stay as they were before it existed.
  CASE WHEN ov.overrides IS NULL
    THEN json_build_object('archive_format', ${ARCHIVE_FORMAT_VERSION}, 'saga', row_to_json(s), 'steps', st.steps)
    ELSE json_build_object('archive_format', ${ARCHIVE_FORMAT_VERSION}, 'saga', row_to_json(s), 'steps', st.steps,
                           'status_overrides', ov.overrides)
  END::text AS line`;

const STEPS_OF = (source: string) => `
  CROSS JOIN LATERAL (
    -- string_agg, not json_agg: json_agg puts newlines between elements, and a line must be one line.
    SELECT ('[' || coalesce(string_agg(row_to_json(x)::text, ',' ORDER BY ${STEP_ORDER}), '') || ']')::json AS steps,
           coalesce(array_agg(x.event_id ORDER BY ${STEP_ORDER}), '{}') AS event_ids,
           count(*)::int AS step_count
    FROM (${source}) x
  ) st`;

const OVERRIDE_ORDER = 'o.overridden_at, o.id';

/**
 * The operators' status overrides of the saga (its audit), oldest first: the
 * delete cascades to saga_status_override, so the line is where they live on.
 */
const OVERRIDES_OF = (source: string) => `
  CROSS JOIN LATERAL (
    SELECT ('[' || string_agg(row_to_json(o)::text, ',' ORDER BY ${OVERRIDE_ORDER}) || ']')::json AS overrides
    FROM (${source}) o
  ) ov`;

/** Eligible sagas after the cursor, oldest last update first (a range scan of the updated_at index). */
const SELECT_CANDIDATES = `
WITH ${RULES}, picked AS (
  SELECT s.saga_id
  FROM saga_instance s LEFT JOIN rules r ON r.saga_type = s.saga_type
  WHERE ${ELIGIBLE}
    AND ($6::timestamptz IS NULL OR (s.updated_at, s.saga_id) > ($6::timestamptz, $7::text))
  ORDER BY s.updated_at, s.saga_id
  LIMIT $8
)
SELECT ${CANDIDATE_COLUMNS}
FROM picked p
JOIN saga_instance s ON s.saga_id = p.saga_id
LEFT JOIN saga_archive_index a ON a.saga_id = s.saga_id
${STEPS_OF('SELECT * FROM saga_steps h WHERE h.saga_id = s.saga_id')}
${OVERRIDES_OF('SELECT * FROM saga_status_override h WHERE h.saga_id = s.saga_id')}
ORDER BY s.updated_at, s.saga_id`;

/**
 * A re-heated saga's line: its hot steps and the steps of its earlier archive
 * ($2, that archive's exact line text), each event once; the same for the
 * status overrides, each audit entry once.
 */
const MERGE_WITH_ARCHIVED = `
SELECT ${CANDIDATE_COLUMNS}
FROM saga_instance s
LEFT JOIN saga_archive_index a ON a.saga_id = s.saga_id
${STEPS_OF(`
    SELECT * FROM saga_steps h WHERE h.saga_id = s.saga_id
    UNION ALL
    SELECT * FROM json_populate_recordset(NULL::saga_steps, $2::json -> 'steps') old
    WHERE NOT EXISTS (SELECT 1 FROM saga_steps h WHERE h.event_id = old.event_id)`)}
${OVERRIDES_OF(`
    SELECT * FROM saga_status_override h WHERE h.saga_id = s.saga_id
    UNION ALL
    SELECT * FROM json_populate_recordset(NULL::saga_status_override, $2::json -> 'status_overrides') old
    WHERE NOT EXISTS (SELECT 1 FROM saga_status_override h WHERE h.id = old.id)`)}
WHERE s.saga_id = $1`;

const COUNT_ELIGIBLE = `
WITH ${RULES}
SELECT s.saga_type, count(*)::int AS sagas
FROM saga_instance s LEFT JOIN rules r ON r.saga_type = s.saga_type
WHERE ${ELIGIBLE}
GROUP BY s.saga_type`;

/** Locks the chunk's saga rows in saga_id order, the order ingest locks in: no deadlock between the two. */
const LOCK_SAGAS = `
SELECT saga_id FROM saga_instance WHERE saga_id = ANY ($1::text[]) ORDER BY saga_id FOR UPDATE`;

/**
 * The commit: a saga row is deleted (its steps cascade) only if it still
 * hashes to the version its line was built from, and only the deleted sagas
 * get an index entry. A re-archived saga's entry moves to the new object.
 */
const DELETE_AND_INDEX = `
WITH expected AS (
  SELECT * FROM json_to_recordset($1::json) AS e(
    saga_id text, version text, event_ids text[], byte_offset bigint, byte_length integer, sha256 text)
), deleted AS (
  DELETE FROM saga_instance s USING expected e
  -- = ANY drives a primary-key lookup: the row hash is computed for the chunk's rows only, not the whole table.
  WHERE s.saga_id = ANY ($3::text[]) AND s.saga_id = e.saga_id AND md5(row_to_json(s)::text) = e.version
  RETURNING s.*
)
INSERT INTO saga_archive_index AS a (${SAGA_INDEX_COLUMNS.join(', ')},
                                     event_ids, object_key, byte_offset, byte_length, sha256, archived_at)
SELECT ${SAGA_INDEX_COLUMNS.map((column) => `d.${column}`).join(', ')},
       e.event_ids, $2, e.byte_offset, e.byte_length, decode(e.sha256, 'hex'), now()
FROM deleted d JOIN expected e ON e.saga_id = d.saga_id
ORDER BY d.saga_id
ON CONFLICT (saga_id) DO UPDATE SET
  ${[...SAGA_INDEX_COLUMNS.filter((column) => column !== 'saga_id'), 'event_ids', 'object_key', 'byte_offset', 'byte_length', 'sha256', 'archived_at'].map((column) => `${column} = EXCLUDED.${column}`).join(',\n  ')}
RETURNING saga_id`;

const MARK_COMMITTED = `
UPDATE saga_archive_object
SET status = 'COMMITTED',
    committed_at = coalesce(committed_at, now()),
    saga_count = (SELECT count(*) FROM saga_archive_index WHERE object_key = $1)
WHERE object_key = $1 AND (status = 'COMMITTED' OR run_id = $2)`;

const HOLDS_LEASE = `SELECT 1 FROM saga_archive_lease WHERE name = $1 AND holder = $2 FOR SHARE`;

const ACQUIRE_LEASE = `
INSERT INTO saga_archive_lease AS l (name, holder, expires_at)
VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder
RETURNING holder`;

const REGISTER_OBJECT = `
INSERT INTO saga_archive_object AS o (object_key, bucket, saga_type, partition_date, status, run_id,
                                      line_count, step_count, byte_count, sha256)
VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8, $9)
ON CONFLICT (object_key) DO UPDATE SET run_id = EXCLUDED.run_id, created_at = now()
WHERE o.status = 'PENDING'
RETURNING status`;

const OBJECTS_TO_VERIFY = `
SELECT o.object_key, o.byte_count::float8 AS byte_count, o.sha256,
       coalesce((SELECT json_agg(json_build_object('saga_id', a.saga_id, 'byte_offset', a.byte_offset,
                                                  'byte_length', a.byte_length, 'sha256', encode(a.sha256, 'hex')))
                 FROM saga_archive_index a WHERE a.object_key = o.object_key), '[]') AS members
FROM saga_archive_object o
WHERE o.status = 'COMMITTED'
ORDER BY o.verified_at NULLS FIRST, o.committed_at, o.object_key
LIMIT $1`;

interface CandidateRow {
  saga_id: string;
  saga_type: string;
  partition_date: string;
  cursor_updated_at: string;
  version: string;
  reheated: boolean;
  event_ids: string[];
  step_count: number;
  line: string;
}

function toCandidate(row: CandidateRow): CandidateSaga {
  return {
    sagaId: row.saga_id,
    sagaType: row.saga_type,
    partitionDate: row.partition_date,
    cursor: { updatedAt: row.cursor_updated_at, sagaId: row.saga_id },
    version: row.version,
    line: row.line,
    eventIds: row.event_ids,
    stepCount: row.step_count,
    reheated: row.reheated,
  };
}

/** Signals a rollback that is an answer, not a failure. */
class ChangedDuringRun extends Error {
  constructor(readonly changed: readonly string[]) {
    super('sagas changed during the run');
  }
}

/** The archiver's PostgreSQL side. */
export class PgArchiveStore implements ArchiveStore, VerifyStore {
  constructor(private readonly pool: pg.Pool) {}

  private inUtc<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(
      this.pool,
      async (client) => {
        await client.query(UTC_SESSION);
        return work(client);
      },
      { what },
    );
  }

  async acquireLease(holder: string, ttlMs: number): Promise<boolean> {
    const { rows } = await this.pool.query(ACQUIRE_LEASE, [LEASE_NAME, holder, Math.ceil(ttlMs)]);
    return rows.length > 0;
  }

  async releaseLease(holder: string): Promise<void> {
    await this.pool.query('DELETE FROM saga_archive_lease WHERE name = $1 AND holder = $2', [
      LEASE_NAME,
      holder,
    ]);
  }

  async pendingObjectKeys(): Promise<string[]> {
    const { rows } = await this.pool.query<{ object_key: string }>(
      `SELECT object_key FROM saga_archive_object WHERE status = 'PENDING' ORDER BY created_at, object_key`,
    );
    return rows.map((row) => row.object_key);
  }

  async forgetPendingObjects(objectKeys: readonly string[]): Promise<void> {
    await this.pool.query(
      `DELETE FROM saga_archive_object WHERE object_key = ANY ($1::text[]) AND status = 'PENDING'`,
      [objectKeys],
    );
  }

  selectCandidates(
    criteria: EligibilityCriteria,
    after: ScanCursor | null,
    limit: number,
  ): Promise<CandidateSaga[]> {
    return this.inUtc('archive read', async (client) => {
      const { rows } = await client.query<CandidateRow>(SELECT_CANDIDATES, [
        ...eligibilityParams(criteria),
        after?.updatedAt ?? null,
        after?.sagaId ?? null,
        limit,
      ]);
      return rows.map(toCandidate);
    });
  }

  mergeWithArchived(sagaId: string, archivedLine: string): Promise<CandidateSaga | null> {
    return this.inUtc('archive merge', async (client) => {
      const { rows } = await client.query<CandidateRow>(MERGE_WITH_ARCHIVED, [sagaId, archivedLine]);
      const row = rows[0];
      return row ? toCandidate(row) : null;
    });
  }

  async registerPendingObject(object: ObjectManifest, runId: string): Promise<'pending' | 'committed'> {
    const { rows } = await this.pool.query(REGISTER_OBJECT, [
      object.objectKey,
      object.bucket,
      object.sagaType,
      object.partitionDate,
      runId,
      object.lineCount,
      object.stepCount,
      object.byteCount,
      object.sha256Base64,
    ]);
    return rows.length > 0 ? 'pending' : 'committed';
  }

  async commitObject(
    object: ObjectManifest,
    entries: readonly IndexEntry[],
    options: { readonly runId: string; readonly allowPartial: boolean },
  ): Promise<CommitResult> {
    const sagaIds = entries.map((entry) => entry.sagaId);
    try {
      return await this.inUtc('archive commit', async (client) => {
        const lease = await client.query(HOLDS_LEASE, [LEASE_NAME, options.runId]);
        if (lease.rows.length === 0)
          throw new ArchiveLeaseLostError(`archiver run ${options.runId} no longer holds the lease`);
        await client.query(LOCK_SAGAS, [sagaIds]);
        const indexed = await client.query<{ saga_id: string }>(DELETE_AND_INDEX, [
          JSON.stringify(
            entries.map((entry) => ({
              saga_id: entry.sagaId,
              version: entry.version,
              event_ids: entry.eventIds,
              byte_offset: entry.byteOffset,
              byte_length: entry.byteLength,
              sha256: entry.sha256Hex,
            })),
          ),
          object.objectKey,
          sagaIds,
        ]);
        const archived = new Set(indexed.rows.map((row) => row.saga_id));
        const changed = sagaIds.filter((sagaId) => !archived.has(sagaId));
        if (changed.length > 0 && !options.allowPartial) throw new ChangedDuringRun(changed);
        const marked = await client.query(MARK_COMMITTED, [object.objectKey, options.runId]);
        if (marked.rowCount !== 1)
          throw new ArchiveLeaseLostError(
            `object ${object.objectKey} is no longer registered to run ${options.runId}`,
          );
        return { committed: true as const, archived: [...archived], changed };
      });
    } catch (error) {
      if (error instanceof ChangedDuringRun) return { committed: false, changed: error.changed };
      throw error;
    }
  }

  async objectsToVerify(limit: number): Promise<ObjectToVerify[]> {
    const { rows } = await this.pool.query<{
      object_key: string;
      byte_count: number;
      sha256: string;
      members: Array<{ saga_id: string; byte_offset: number; byte_length: number; sha256: string }>;
    }>(OBJECTS_TO_VERIFY, [limit]);
    return rows.map((row) => ({
      objectKey: row.object_key,
      byteCount: row.byte_count,
      sha256Base64: row.sha256,
      members: row.members.map((member) => ({
        sagaId: member.saga_id,
        byteOffset: member.byte_offset,
        byteLength: member.byte_length,
        sha256: Buffer.from(member.sha256, 'hex'),
      })),
    }));
  }

  async markVerified(objectKeys: readonly string[]): Promise<void> {
    await this.pool.query(
      'UPDATE saga_archive_object SET verified_at = now() WHERE object_key = ANY ($1::text[])',
      [objectKeys],
    );
  }

  async countEligible(criteria: EligibilityCriteria): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ saga_type: string; sagas: number }>(
      COUNT_ELIGIBLE,
      eligibilityParams(criteria),
    );
    return Object.fromEntries(rows.map((row) => [row.saga_type, row.sagas]));
  }
}
