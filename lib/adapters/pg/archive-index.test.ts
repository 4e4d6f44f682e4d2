import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ARCHIVE_BUCKET,
  archivedSagaIds,
  hotSagaIds,
  inArchivedForm,
  ingestSagas,
  rawRows,
  useArchiveTestBed,
  variedSeeds,
} from '../../../test/support/archive';
import { truncateAll } from '../../../test/support/database';
import type { ArchiveSearchFilters, SagaSort } from '../../archive/ports';
import { restoreArchivedSagas } from '../../archive/restore';

const bed = useArchiveTestBed({ emptyTablesBeforeEach: false });

const SUMMARY = `SELECT saga_id, saga_type, order_id, current_status, last_step, last_trace_id, started_at, updated_at,
  created_at, step_count, last_recorded_at, last_event_timestamp, last_event_id, failed_at, compensated_at
  FROM saga_instance ORDER BY saga_id`;

describe('searching the archive index', () => {
  let hot: Array<Record<string, unknown>>;

  beforeAll(async () => {
    await truncateAll(bed.db.pool);
    await ingestSagas(bed.db.pool, variedSeeds(60));
    hot = inArchivedForm(await rawRows(bed.db.pool, SUMMARY));
    await bed.archive.run({ chunkSize: 25 });
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
  });

  function expected(filter: (row: Record<string, unknown>) => boolean, sort: SagaSort) {
    const [field, direction] = sort.split(',') as ['startedAt' | 'updatedAt', 'asc' | 'desc'];
    const column = field === 'startedAt' ? 'started_at' : 'updated_at';
    const instant = (row: Record<string, unknown>) => Date.parse(row[column] as string);
    const sign = direction === 'asc' ? 1 : -1;
    return hot
      .filter(filter)
      .sort(
        (a, b) =>
          sign * (instant(a) - instant(b)) || sign * (a.saga_id as string).localeCompare(b.saga_id as string),
      );
  }

  const cases: Array<[string, ArchiveSearchFilters, (row: Record<string, unknown>) => boolean]> = [
    ['no filter', {}, () => true],
    ['orderId', { orderId: 'order-saga-00007' }, (row) => row.order_id === 'order-saga-00007'],
    ['sagaType', { sagaType: 'REFUND' }, (row) => row.saga_type === 'REFUND'],
    ['status', { status: 'COMPENSATED' }, (row) => row.current_status === 'COMPENSATED'],
    [
      'sagaType and status',
      { sagaType: 'PAYMENT_COMPLETION', status: 'COMPLETED' },
      (row) => row.saga_type === 'PAYMENT_COMPLETION' && row.current_status === 'COMPLETED',
    ],
    [
      'fromDate and toDate, inclusive, on startedAt',
      { fromDate: '2026-05-24T00:00:00.000Z', toDate: new Date('2026-05-25T05:00:00.000Z') },
      (row) =>
        Date.parse(row.started_at as string) >= Date.parse('2026-05-24T00:00:00.000Z') &&
        Date.parse(row.started_at as string) <= Date.parse('2026-05-25T05:00:00.000Z'),
    ],
  ];

  it.each(cases)('filters by %s like the hot search', async (_name, filters, filter) => {
    const want = expected(filter, 'startedAt,desc');
    expect(want.length).toBeGreaterThan(0);

    const found = await bed.archive.stack.reader.searchArchived(filters, { offset: 0, limit: 100 });

    expect(found.totalElements).toBe(want.length);
    expect(found.content.map((row) => row.saga)).toEqual(want);
    for (const row of found.content) {
      expect(row.archived).toBe(true);
      expect(row.archivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$/);
    }
  });

  it.each<SagaSort>(['startedAt,asc', 'startedAt,desc', 'updatedAt,asc', 'updatedAt,desc'])(
    'pages through all matches sorted by %s',
    async (sort) => {
      const want = expected((row) => row.saga_type === 'REFUND', sort).map((row) => row.saga_id);
      const seen: unknown[] = [];
      for (let offset = 0; offset <= want.length; offset += 7) {
        const page = await bed.archive.stack.reader.searchArchived(
          { sagaType: 'REFUND' },
          { offset, limit: 7, sort },
        );
        expect(page.totalElements).toBe(want.length);
        expect(page.content.length).toBe(Math.min(7, Math.max(0, want.length - offset)));
        seen.push(...page.content.map((row) => row.saga.saga_id));
      }
      expect(seen).toEqual(want);
    },
  );
});

describe('restoring archived sagas', () => {
  const TABLES = [
    'SELECT * FROM saga_instance ORDER BY saga_id',
    'SELECT * FROM saga_steps ORDER BY id',
  ] as const;

  async function dump() {
    return Promise.all(TABLES.map((sql) => rawRows(bed.db.pool, sql).then((raw) => raw.rows)));
  }

  beforeEach(() => truncateAll(bed.db.pool));

  it('puts sagas back into the hot tables exactly as they were, every column of every row', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(45));
    await bed.db.pool.query(`UPDATE saga_steps SET created_at = created_at + interval '7 microseconds'`);
    const before = await dump();
    await bed.archive.run({ chunkSize: 20 });
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);

    const report = await restoreArchivedSagas(bed.archive.stack, [
      ...(await archivedSagaIds(bed.db.pool)),
      'never-archived',
    ]);

    expect(report).toEqual(
      expect.objectContaining({ requested: 46, notArchived: ['never-archived'], failed: [] }),
    );
    expect(report.restored).toHaveLength(45);
    expect(await dump()).toEqual(before);
    expect(await archivedSagaIds(bed.db.pool)).toEqual([]);
    const { rows } = await bed.db.pool.query('SELECT DISTINCT saga_count FROM saga_archive_object');
    expect(rows).toEqual([{ saga_count: 0 }]);
  });

  it('leaves a saga archived and says why when its archive is damaged', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(2));
    await bed.archive.run();
    const [entry] = await bed.archive.stack.index.locate(['saga-00000']);
    if (!entry) throw new Error('archived');
    await bed.s3.client.send(
      new PutObjectCommand({ Bucket: ARCHIVE_BUCKET, Key: entry.objectKey, Body: 'x' }),
    );

    const report = await restoreArchivedSagas(bed.archive.stack, ['saga-00000', 'saga-00001']);

    expect(report.restored).toEqual(['saga-00001']);
    expect(report.failed).toEqual([
      { sagaId: 'saga-00000', error: expect.stringMatching(/truncated or replaced/) },
    ]);
    expect(await archivedSagaIds(bed.db.pool)).toEqual(['saga-00000']);
  });
});
