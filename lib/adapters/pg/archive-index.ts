import type pg from 'pg';
import type {
  ArchivedSagaSummaryRow,
  ArchiveIndex,
  ArchiveSearchFilters,
  ArchiveSearchPaging,
  ArchiveSearchRow,
  IndexLocation,
  SagaSort,
} from '../../archive/ports';
import type { VerifiedLine } from '../../archive/reader';
import { SAGA_INDEX_COLUMNS } from './archive-store';
import { withTransaction } from './transaction';

/**
 * A timestamptz as PostgreSQL renders it in JSON in a UTC session
 * (`2026-08-27T09:00:00.123456+00:00`), without needing that session: the
 * same text the archived rows carry.
 */
function utcText(column: string): string {
  return `(to_json(${column} AT TIME ZONE 'UTC') #>> '{}') || '+00:00'`;
}

const TIMESTAMP_COLUMNS = new Set([
  'started_at',
  'updated_at',
  'created_at',
  'last_recorded_at',
  'last_event_timestamp',
  'failed_at',
  'compensated_at',
]);

// The index mirrors saga_instance (SAGA_INDEX_COLUMNS); a search answers its summary, without the override time.
const SUMMARY_COLUMNS = SAGA_INDEX_COLUMNS.filter(
  (column): column is keyof ArchivedSagaSummaryRow => column !== 'status_overridden_at',
);

const SUMMARY_SELECT = SUMMARY_COLUMNS.map((column) =>
  TIMESTAMP_COLUMNS.has(column) ? `${utcText(`a.${column}`)} AS ${column}` : `a.${column}`,
).join(', ');

const ORDER_BY: Record<SagaSort, string> = {
  'startedAt,desc': 'a.started_at DESC, a.saga_id DESC',
  'startedAt,asc': 'a.started_at ASC, a.saga_id ASC',
  'updatedAt,desc': 'a.updated_at DESC, a.saga_id DESC',
  'updatedAt,asc': 'a.updated_at ASC, a.saga_id ASC',
};

const SEARCH_WHERE = `
  ($1::text IS NULL OR a.order_id = $1)
  AND ($2::text IS NULL OR a.saga_type = $2)
  AND ($3::text IS NULL OR a.current_status = $3)
  AND ($4::timestamptz IS NULL OR a.started_at >= $4)
  AND ($5::timestamptz IS NULL OR a.started_at <= $5)
  AND (NOT $6::boolean OR NOT EXISTS (SELECT 1 FROM saga_instance s WHERE s.saga_id = a.saga_id))`;

const LOCATE = `
SELECT saga_id, object_key, byte_offset, byte_length, sha256, ${utcText('archived_at')} AS archived_at
FROM saga_archive_index
WHERE saga_id = ANY ($1::text[])`;

/** Restore: the saga row from the archive unless the saga is hot again (its hot row already folds the archived steps). */
const RESTORE_SAGAS = `
INSERT INTO saga_instance
SELECT r.* FROM json_array_elements($1::json) AS line, json_populate_record(NULL::saga_instance, line -> 'saga') AS r
ORDER BY r.saga_id
ON CONFLICT (saga_id) DO NOTHING`;

/** Restore: every archived step back, with its id; steps already hot are kept as they are. */
const RESTORE_STEPS = `
INSERT INTO saga_steps
SELECT r.* FROM json_array_elements($1::json) AS line, json_populate_recordset(NULL::saga_steps, line -> 'steps') AS r
ORDER BY r.event_id
ON CONFLICT (event_id) DO NOTHING`;

/** Restore: the operators' status-override audit back, with its ids; entries already hot are kept. */
const RESTORE_OVERRIDES = `
INSERT INTO saga_status_override
SELECT r.* FROM json_array_elements($1::json) AS line,
  json_populate_recordset(NULL::saga_status_override, coalesce(line -> 'status_overrides', '[]')) AS r
ORDER BY r.id
ON CONFLICT (id) DO NOTHING`;

interface LocationRow {
  saga_id: string;
  object_key: string;
  byte_offset: number | string;
  byte_length: number;
  sha256: Buffer;
  archived_at: string;
}

type SummaryRow = ArchivedSagaSummaryRow & { archived_at: string };

function toDateParam(value: Date | string | undefined): string | null {
  if (value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a date: ${String(value)}`);
  return date.toISOString();
}

/** The archive index in PostgreSQL: where archived sagas are, search over them, and restore. */
export class PgArchiveIndex implements ArchiveIndex {
  constructor(private readonly pool: pg.Pool) {}

  async locate(sagaIds: readonly string[]): Promise<IndexLocation[]> {
    if (sagaIds.length === 0) return [];
    const { rows } = await this.pool.query<LocationRow>(LOCATE, [sagaIds]);
    return rows.map((row) => ({
      sagaId: row.saga_id,
      objectKey: row.object_key,
      // bigint arrives as text unless a global type parser says otherwise: do not depend on one.
      byteOffset: Number(row.byte_offset),
      byteLength: Number(row.byte_length),
      sha256: row.sha256,
      archivedAt: row.archived_at,
    }));
  }

  async search(
    filters: ArchiveSearchFilters,
    paging: ArchiveSearchPaging,
  ): Promise<{ rows: ArchiveSearchRow[]; total: number }> {
    const params = [
      filters.orderId ?? null,
      filters.sagaType ?? null,
      filters.status ?? null,
      toDateParam(filters.fromDate),
      toDateParam(filters.toDate),
      paging.excludeHot ?? true,
    ];
    const order = ORDER_BY[paging.sort ?? 'startedAt,desc'];
    const [page, count] = await Promise.all([
      this.pool.query<SummaryRow>(
        `SELECT ${SUMMARY_SELECT}, ${utcText('a.archived_at')} AS archived_at
         FROM saga_archive_index a WHERE ${SEARCH_WHERE}
         ORDER BY ${order} LIMIT $7 OFFSET $8`,
        [...params, paging.limit, paging.offset],
      ),
      this.pool.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM saga_archive_index a WHERE ${SEARCH_WHERE}`,
        params,
      ),
    ]);
    return {
      rows: page.rows.map(({ archived_at, ...saga }) => ({ archived: true, archivedAt: archived_at, saga })),
      total: count.rows[0]?.total ?? 0,
    };
  }

  /**
   * Puts verified archived sagas back into the hot tables, exactly as they
   * were (the lines' own JSON text goes to PostgreSQL, not a re-serialization),
   * and removes their index entries, in one transaction. A saga whose entry
   * moved since it was read (re-archived meanwhile) is left alone. Returns the
   * ids restored.
   */
  restore(lines: readonly VerifiedLine[]): Promise<string[]> {
    if (lines.length === 0) return Promise.resolve([]);
    return withTransaction(
      this.pool,
      async (client) => {
        const { rows } = await client.query<{ saga_id: string; object_key: string; byte_offset: string }>(
          `SELECT saga_id, object_key, byte_offset FROM saga_archive_index
           WHERE saga_id = ANY ($1::text[]) ORDER BY saga_id FOR UPDATE`,
          [lines.map((line) => line.location.sagaId)],
        );
        const current = new Map(rows.map((row) => [row.saga_id, row]));
        const still = lines.filter((line) => {
          const row = current.get(line.location.sagaId);
          return (
            row?.object_key === line.location.objectKey &&
            Number(row.byte_offset) === line.location.byteOffset
          );
        });
        if (still.length === 0) return [];
        const texts = `[${still.map((line) => line.text.trimEnd()).join(',')}]`;
        await client.query(RESTORE_SAGAS, [texts]);
        await client.query(RESTORE_STEPS, [texts]);
        await client.query(RESTORE_OVERRIDES, [texts]);
        const ids = still.map((line) => line.location.sagaId);
        await client.query('DELETE FROM saga_archive_index WHERE saga_id = ANY ($1::text[])', [ids]);
        await client.query(
          `UPDATE saga_archive_object o SET saga_count = (SELECT count(*) FROM saga_archive_index a WHERE a.object_key = o.object_key)
           WHERE o.object_key = ANY ($1::text[])`,
          [[...new Set(still.map((line) => line.location.objectKey))]],
        );
        return ids;
      },
      { what: 'archive restore' },
    );
  }
}
