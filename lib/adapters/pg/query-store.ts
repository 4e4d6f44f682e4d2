import type pg from 'pg';
import { ACTIVE_STATUSES } from '../../domain/saga-event';
import { microsToIso } from '../../query/cursor';
import type { MetadataFilter, SearchFilters, SearchQuery, SortField } from '../../query/search-criteria';
import { archiveUnsearchableFilter } from '../../query/search-criteria';
import type { SagaRow, StatusOverrideRow } from '../../query/serialize';
import type {
  SagaQueryStore,
  SagaTimeline,
  SagaTimelineSource,
  SearchRow,
  StatisticsData,
  StatisticsScope,
  StatusOverrideInput,
  StatusOverrideResult,
} from '../../query/store';
import { classifyDbError } from './transaction';

const SAGA_COLUMNS = `s.saga_id, s.saga_type, s.order_id, s.current_status, s.last_step, s.last_trace_id,
  s.started_at, s.updated_at, s.step_count, s.status_overridden_at`;

/**
 * When a hot saga's earlier timeline went to cold storage (it was archived,
 * then a late event made it hot again); null for the others. A primary-key
 * probe of the archive index per saga row answered.
 */
const HOT_ARCHIVED_AT = '(SELECT a.archived_at FROM saga_archive_index a WHERE a.saga_id = s.saga_id)';

/** The only column names that reach SQL text come from this table, never from input. */
const SORT_COLUMNS: Record<SortField, string> = { startedAt: 'started_at', updatedAt: 'updated_at' };

/** Collects positional parameters while a statement's conditions are assembled. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function containment(key: string, value: unknown): string {
  return JSON.stringify({ [key]: value });
}

/** `st.metadata` holds the filter's key with one of its values (each test is served by the GIN index). */
function metadataMatch(filter: MetadataFilter, params: Params): string {
  const alternatives = filter.values.map(
    (value) => `st.metadata @> ${params.add(containment(filter.key, value))}::jsonb`,
  );
  return `(${alternatives.join(' OR ')})`;
}

/**
 * Steps a metadata filter may match before it counts as broad. PostgreSQL
 * cannot estimate jsonb containment (it assumes 1% of the rows), so a
 * selective filter is resolved first, through the GIN index, to the saga ids
 * it names; only a broad one is left to the planner, which then walks the sort
 * order and finds matches quickly because they are dense.
 */
export const METADATA_NARROWING_LIMIT = 50_000;

/** Saga ids already known to satisfy the first metadata filter. */
interface Narrowed {
  readonly sagaIds: readonly string[];
}

/**
 * The WHERE conditions of a search. Step-level filters (trace, step name,
 * metadata) are semi-joins on saga_steps: the trace id goes through the GIN
 * metadata index (the trace id of a step is its metadata.traceId), the step
 * name through (saga_id, step).
 */
function whereConditions(
  filters: SearchFilters,
  now: Date,
  params: Params,
  narrowed: Narrowed | undefined,
): string[] {
  const conditions: string[] = [];
  if (narrowed) conditions.push(`s.saga_id = ANY(${params.add(narrowed.sagaIds)}::text[])`);
  if (filters.orderId !== undefined) conditions.push(`s.order_id = ${params.add(filters.orderId)}`);
  if (filters.sagaType !== undefined) conditions.push(`s.saga_type = ${params.add(filters.sagaType)}`);
  if (filters.status !== undefined) conditions.push(`s.current_status = ${params.add(filters.status)}`);
  if (filters.from !== undefined) conditions.push(`s.started_at >= ${params.add(filters.from)}`);
  if (filters.to !== undefined) conditions.push(`s.started_at < ${params.add(filters.to)}`);
  if (filters.traceId !== undefined) {
    conditions.push(`EXISTS (SELECT 1 FROM saga_steps st WHERE st.saga_id = s.saga_id
      AND st.metadata @> ${params.add(containment('traceId', filters.traceId))}::jsonb
      AND st.trace_id = ${params.add(filters.traceId)})`);
  }
  if (filters.step !== undefined) {
    conditions.push(
      `EXISTS (SELECT 1 FROM saga_steps st WHERE st.saga_id = s.saga_id AND st.step = ${params.add(filters.step)})`,
    );
  }
  for (const [index, filter] of (filters.metadata ?? []).entries()) {
    if (index === 0 && narrowed) continue;
    conditions.push(
      `EXISTS (SELECT 1 FROM saga_steps st WHERE st.saga_id = s.saga_id AND ${metadataMatch(filter, params)})`,
    );
  }
  if (filters.stuckForSeconds !== undefined) {
    conditions.push(`s.current_status = ANY(${params.add(ACTIVE_STATUSES)}::text[])`);
    conditions.push(`s.updated_at < ${params.add(new Date(now.getTime() - filters.stuckForSeconds * 1000))}`);
  }
  return conditions;
}

/**
 * The conditions over the archive index (`saga_archive_index s`, whose summary
 * columns are saga_instance's): the saga-level filters only — the steps of an
 * archived saga are in S3, not in a table a search can read — and never a saga
 * that is hot again (a late event re-heated it): the hot branch answers for it.
 */
function archivedConditions(
  filters: SearchFilters,
  now: Date,
  params: Params,
  purpose: 'page' | 'count',
): string[] {
  const stepLevel = archiveUnsearchableFilter(filters);
  if (stepLevel) throw new Error(`the archive index cannot be searched by ${stepLevel}`);
  // For a page, OFFSET 0 keeps the test a per-row primary-key probe: as an anti-join, the planner would
  // hash the whole hot table and sort the whole archive instead of walking the archive index in order.
  const fence = purpose === 'page' ? ' OFFSET 0' : '';
  return [
    ...whereConditions(filters, now, params, undefined),
    `NOT EXISTS (SELECT 1 FROM saga_instance h WHERE h.saga_id = s.saga_id${fence})`,
  ];
}

function whereClause(conditions: readonly string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join('\n  AND ')}`;
}

/** Rows strictly after the keyset position, in the sort's direction; (time, saga_id) is unique. */
function keysetCondition(query: SearchQuery, params: Params): string[] {
  if (query.paging.kind !== 'keyset') return [];
  const { after } = query.paging;
  const column = SORT_COLUMNS[query.sort.field];
  const comparison = query.sort.direction === 'desc' ? '<' : '>';
  return [
    `(s.${column}, s.saga_id) ${comparison} (${params.add(microsToIso(after.micros))}::timestamptz, ${params.add(after.sagaId)})`,
  ];
}

function sortKey(column: string): string {
  return `(extract(epoch FROM s.${column}) * 1000000)::bigint::text AS sort_key`;
}

/**
 * One page of a search. With `includeArchived`, the hot tables and the
 * archive index each give their first `offset + limit` rows in the sort order
 * (a LIMIT per branch keeps each an index range scan; under a bare UNION ALL
 * the planner sorted the whole archive index once a branch had a condition),
 * and one ORDER BY over the two merges them (a Merge Append): offset and
 * keyset paging, and the collation that orders equal times by saga_id, are
 * then exactly those of a single table.
 */
export function searchStatement(
  query: SearchQuery,
  limit: number,
  now: Date,
  narrowed?: Narrowed,
): pg.QueryConfig {
  const params = new Params();
  const column = SORT_COLUMNS[query.sort.field];
  const direction = query.sort.direction === 'desc' ? 'DESC' : 'ASC';
  const order = (table: string) => `ORDER BY ${table}.${column} ${direction}, ${table}.saga_id ${direction}`;
  const offset = query.paging.kind === 'offset' ? query.paging.page * query.paging.size : 0;
  const hotWhere = whereClause([
    ...whereConditions(query.filters, now, params, narrowed),
    ...keysetCondition(query, params),
  ]);
  const hot = `SELECT ${SAGA_COLUMNS}, ${HOT_ARCHIVED_AT} AS archived_at, false AS archived, ${sortKey(column)}
FROM saga_instance s
${hotWhere}`;
  if (!query.filters.includeArchived) {
    const text = `
${hot}
${order('s')}
LIMIT ${params.add(limit)}${offset > 0 ? ` OFFSET ${params.add(offset)}` : ''}`;
    return { text, values: params.values };
  }
  const archivedWhere = whereClause([
    ...archivedConditions(query.filters, now, params, 'page'),
    ...keysetCondition(query, params),
  ]);
  const branchLimit = params.add(offset + limit);
  const text = `
SELECT u.* FROM (
  (${hot}
   ${order('s')} LIMIT ${branchLimit})
  UNION ALL
  (SELECT ${SAGA_COLUMNS}, s.archived_at, true AS archived, ${sortKey(column)}
   FROM saga_archive_index s
   ${archivedWhere}
   ${order('s')} LIMIT ${branchLimit})
) u
${order('u')}
LIMIT ${params.add(limit)}${offset > 0 ? ` OFFSET ${params.add(offset)}` : ''}`;
  return { text, values: params.values };
}

export function countStatement(filters: SearchFilters, now: Date, narrowed?: Narrowed): pg.QueryConfig {
  const params = new Params();
  const hotWhere = whereClause(whereConditions(filters, now, params, narrowed));
  if (!filters.includeArchived) {
    return { text: `SELECT count(*) AS total FROM saga_instance s ${hotWhere}`, values: params.values };
  }
  const archivedWhere = whereClause(archivedConditions(filters, now, params, 'count'));
  return {
    text: `SELECT (SELECT count(*) FROM saga_instance s ${hotWhere})
  + (SELECT count(*) FROM saga_archive_index s ${archivedWhere}) AS total`,
    values: params.values,
  };
}

const FIND_SAGA = `SELECT ${SAGA_COLUMNS}, ${HOT_ARCHIVED_AT} AS archived_at FROM saga_instance s WHERE s.saga_id = $1`;

/** One round trip: the saga row with its steps and overrides as JSON arrays. */
const FIND_TIMELINE = `
SELECT ${SAGA_COLUMNS}, ${HOT_ARCHIVED_AT} AS archived_at,
  (SELECT coalesce(json_agg(st ORDER BY st.recorded_at, st.event_timestamp, st.event_id), '[]')
   FROM (SELECT id, event_id, step, status, producer_service, trace_id, metadata, recorded_at, event_timestamp
         FROM saga_steps WHERE saga_id = s.saga_id) st) AS steps,
  (SELECT coalesce(json_agg(o ORDER BY o.overridden_at, o.id), '[]')
   FROM (SELECT id, previous_status, new_status, reason, principal, principal_account, request_id, overridden_at
         FROM saga_status_override WHERE saga_id = s.saga_id) o) AS overrides
FROM saga_instance s
WHERE s.saga_id = $1`;

/**
 * Counts per (type, status) of the sagas started in the period: an index-only
 * scan (the started_at index carries the columns read).
 */
const STATISTICS_GROUPS = `
SELECT saga_type, current_status, count(*) AS n, count(failed_at) AS ever_failed,
       count(compensated_at) AS ever_compensated
FROM saga_instance
WHERE started_at >= $1 AND started_at < $2 AND ($3::text IS NULL OR saga_type = $3)
GROUP BY saga_type, current_status`;

/**
 * The duration distribution of the period's terminal sagas, from their first
 * step to their latest producer step (last_recorded_at, which an operator
 * override does not move), off the partial index of terminal sagas. date_part
 * keeps durations in double precision (extract() would sort numerics, slower).
 * The status list must stay literal: it is what lets the planner use the partial index.
 */
const STATISTICS_DURATIONS = `
SELECT count(*) AS duration_count, avg(duration) AS avg_duration,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration) AS percentiles
FROM (SELECT date_part('epoch', last_recorded_at - started_at) AS duration
      FROM saga_instance
      WHERE started_at >= $1 AND started_at < $2 AND ($3::text IS NULL OR saga_type = $3)
        AND current_status IN ('COMPLETED', 'FAILED', 'COMPENSATED')) t`;

/** Locks the saga row, forces its status and records the audit entry, in one statement. */
const OVERRIDE_STATUS = `
WITH current AS (
  SELECT saga_id, current_status FROM saga_instance WHERE saga_id = $1 FOR UPDATE
), updated AS (
  UPDATE saga_instance s
  SET current_status = $2, updated_at = now(), status_overridden_at = now()
  FROM current
  WHERE s.saga_id = current.saga_id
  RETURNING ${SAGA_COLUMNS}, current.current_status AS previous_status
), audit AS (
  INSERT INTO saga_status_override (saga_id, previous_status, new_status, reason, principal, principal_account,
                                    request_id, overridden_at)
  SELECT saga_id, previous_status, $2, $3, $4, $5, $6, now() FROM updated
  RETURNING id, previous_status, new_status, reason, principal, principal_account, request_id, overridden_at
)
SELECT row_to_json(updated) AS saga, row_to_json(audit) AS override FROM updated, audit`;

type TimelineRow = SagaRow & Pick<SagaTimeline, 'steps' | 'overrides'>;

interface StatisticsGroupRow {
  saga_type: string;
  current_status: string;
  n: number;
  ever_failed: number;
  ever_compensated: number;
}

interface StatisticsDurationsRow {
  duration_count: number;
  avg_duration: number | null;
  percentiles: number[] | null;
}

/** Search, statistics, overrides and single-saga reads on PostgreSQL. */
/** The fixed names queries are timed under (`saga_tracker_db_query_seconds{query}`), never SQL text. */
export type QueryName =
  | 'get_saga'
  | 'get_saga_steps'
  | 'search_sagas'
  | 'count_sagas'
  | 'search_metadata'
  | 'saga_statistics'
  | 'saga_durations'
  | 'override_status'
  | 'health_check';

export interface PgSagaQueryStoreOptions {
  /** @default METADATA_NARROWING_LIMIT */
  readonly metadataNarrowingLimit?: number;
  /** Wraps every query, e.g. to time it (`timeQuery` of lib/telemetry/http-metrics). */
  readonly observeQuery?: <T>(name: QueryName, run: () => Promise<T>) => Promise<T>;
}

export class PgSagaQueryStore implements SagaQueryStore, SagaTimelineSource {
  private readonly narrowingLimit: number;
  private readonly observe: NonNullable<PgSagaQueryStoreOptions['observeQuery']>;

  constructor(
    private readonly pool: pg.Pool,
    options: PgSagaQueryStoreOptions = {},
  ) {
    this.narrowingLimit = options.metadataNarrowingLimit ?? METADATA_NARROWING_LIMIT;
    this.observe = options.observeQuery ?? ((_name, run) => run());
  }

  private async query<R extends pg.QueryResultRow>(name: QueryName, config: pg.QueryConfig): Promise<R[]> {
    try {
      return await this.observe(name, async () => (await this.pool.query<R>(config)).rows);
    } catch (error) {
      throw classifyDbError(error, name.replaceAll('_', ' '));
    }
  }

  async findSaga(sagaId: string): Promise<SagaRow | null> {
    const rows = await this.query<SagaRow>('get_saga', { text: FIND_SAGA, values: [sagaId] });
    return rows[0] ?? null;
  }

  async findTimeline(sagaId: string): Promise<SagaTimeline | null> {
    const rows = await this.query<TimelineRow>('get_saga_steps', { text: FIND_TIMELINE, values: [sagaId] });
    const row = rows[0];
    if (!row) return null;
    const { steps, overrides, ...saga } = row;
    return { saga, steps, overrides };
  }

  /** Resolves a selective first metadata filter to saga ids; undefined when there is none or it is broad. */
  private async narrow(filters: SearchFilters): Promise<Narrowed | undefined> {
    const [first] = filters.metadata ?? [];
    if (!first) return undefined;
    const params = new Params();
    const text = `SELECT st.saga_id FROM saga_steps st WHERE ${metadataMatch(first, params)}
      LIMIT ${params.add(this.narrowingLimit + 1)}`;
    const rows = await this.query<{ saga_id: string }>('search_metadata', { text, values: params.values });
    if (rows.length > this.narrowingLimit) return undefined;
    return { sagaIds: [...new Set(rows.map((row) => row.saga_id))] };
  }

  async search(query: SearchQuery, limit: number, now: Date): Promise<SearchRow[]> {
    const narrowed = await this.narrow(query.filters);
    return this.query<SearchRow>('search_sagas', searchStatement(query, limit, now, narrowed));
  }

  async count(filters: SearchFilters, now: Date): Promise<number> {
    const narrowed = await this.narrow(filters);
    const rows = await this.query<{ total: number }>('count_sagas', countStatement(filters, now, narrowed));
    return Number(rows[0]?.total ?? 0);
  }

  /** Two statements at once on two connections (when the pool has them): the counts and the durations. */
  async statistics(scope: StatisticsScope): Promise<StatisticsData> {
    const values = [scope.from, scope.to, scope.sagaType ?? null];
    const [groups, durations] = await Promise.all([
      this.query<StatisticsGroupRow>('saga_statistics', { text: STATISTICS_GROUPS, values }),
      this.query<StatisticsDurationsRow>('saga_durations', { text: STATISTICS_DURATIONS, values }),
    ]);
    const row = durations[0];
    const percentiles = row?.percentiles ?? [];
    return {
      groups: groups.map((group) => ({
        sagaType: group.saga_type,
        status: group.current_status,
        count: Number(group.n),
        everFailed: Number(group.ever_failed),
        everCompensated: Number(group.ever_compensated),
      })),
      durations: {
        count: Number(row?.duration_count ?? 0),
        avgSeconds: row?.avg_duration ?? null,
        p50Seconds: percentiles[0] ?? null,
        p95Seconds: percentiles[1] ?? null,
        p99Seconds: percentiles[2] ?? null,
      },
    };
  }

  async overrideStatus(input: StatusOverrideInput): Promise<StatusOverrideResult | null> {
    const rows = await this.query<{ saga: SagaRow; override: StatusOverrideRow }>('override_status', {
      text: OVERRIDE_STATUS,
      values: [
        input.sagaId,
        input.status,
        input.reason,
        input.principal,
        input.principalAccount,
        input.requestId,
      ],
    });
    const row = rows[0];
    return row ? { saga: row.saga, override: row.override } : null;
  }

  async ping(): Promise<void> {
    await this.query('health_check', { text: 'SELECT 1' });
  }
}
