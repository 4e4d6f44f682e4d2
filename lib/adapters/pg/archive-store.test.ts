import fc from 'fast-check';
import { ARCHIVE_NOW, ingestSagas, variedSeeds } from '../../../test/support/archive';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../../test/support/database';
import { eligibilityCriteria, isEligible } from '../../archive/eligibility';
import type { ArchiveRules } from '../../config/archive';
import { SAGA_STATUSES, type SagaStatus } from '../../domain/saga-event';
import { ArchiveLeaseLostError, PgArchiveStore } from './archive-store';

let db: TestDatabase;
let store: PgArchiveStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PgArchiveStore(db.pool);
});
afterAll(() => db.drop());
beforeEach(() => truncateAll(db.pool));

const DAY = 86_400_000;
const TYPES = ['ORDER_CREATION', 'PAYMENT_COMPLETION', 'REFUND', 'STORE_REGISTRATION'] as const;

const sagaArb = fc.record({
  sagaType: fc.constantFrom(...TYPES),
  status: fc.constantFrom(...SAGA_STATUSES),
  // Up to 400 days old, to the millisecond, around every cutoff.
  ageMs: fc.integer({ min: 0, max: 400 * DAY }),
});

const ruleArb = fc.record({
  retentionDays: fc.integer({ min: 1, max: 365 }),
  statuses: fc.uniqueArray(fc.constantFrom(...SAGA_STATUSES), { minLength: 1 }),
});

const rulesArb: fc.Arbitrary<ArchiveRules> = fc.record({
  defaultRule: ruleArb,
  byType: fc.dictionary(fc.constantFrom(...TYPES), ruleArb, { maxKeys: 3 }),
});

async function insertSagas(sagas: ReadonlyArray<{ sagaType: string; status: SagaStatus; ageMs: number }>) {
  const rows = sagas.map((saga, index) => {
    const updated = new Date(ARCHIVE_NOW - saga.ageMs).toISOString();
    return { saga_id: `s-${index}`, saga_type: saga.sagaType, status: saga.status, updated };
  });
  await db.pool.query(
    `INSERT INTO saga_instance (saga_id, saga_type, order_id, current_status, last_step, started_at, updated_at,
                                step_count, last_recorded_at, last_event_timestamp, last_event_id)
     SELECT saga_id, saga_type, 'o-' || saga_id, status, 'STEP', updated, updated, 0, updated, updated, 'e-' || saga_id
     FROM json_to_recordset($1::json) AS r(saga_id text, saga_type text, status text, updated timestamptz)`,
    [JSON.stringify(rows)],
  );
  return rows;
}

describe('PgArchiveStore', () => {
  it('selects exactly the sagas isEligible accepts, oldest update first, and counts them by type', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sagaArb, { maxLength: 40 }), rulesArb, async (sagas, rules) => {
        await truncateAll(db.pool);
        const rows = await insertSagas(sagas);
        const criteria = eligibilityCriteria(rules, ARCHIVE_NOW);
        const want = rows
          .filter((row) =>
            isEligible(
              { sagaType: row.saga_type, currentStatus: row.status, updatedAt: new Date(row.updated) },
              rules,
              ARCHIVE_NOW,
            ),
          )
          .sort((a, b) => a.updated.localeCompare(b.updated) || (a.saga_id < b.saga_id ? -1 : 1));

        const picked = await store.selectCandidates(criteria, null, 1_000);
        const counted = await store.countEligible(criteria);

        expect(picked.map((candidate) => candidate.sagaId)).toEqual(want.map((row) => row.saga_id));
        const byType: Record<string, number> = {};
        for (const row of want) byType[row.saga_type] = (byType[row.saga_type] ?? 0) + 1;
        expect(counted).toEqual(byType);
      }),
      { numRuns: 25 },
    );
  });

  it('pages through candidates with its cursor without repeating or skipping any', async () => {
    await insertSagas(
      Array.from({ length: 23 }, (_, index) => ({
        sagaType: 'ORDER_CREATION',
        status: 'COMPLETED' as const,
        // Pairs of sagas share an updated_at: the cursor must tie-break on saga_id.
        ageMs: 100 * DAY + Math.floor(index / 2) * 1_000,
      })),
    );
    const criteria = eligibilityCriteria(
      { defaultRule: { retentionDays: 90, statuses: ['COMPLETED'] }, byType: {} },
      ARCHIVE_NOW,
    );
    const seen: string[] = [];
    let cursor = null;
    for (;;) {
      const page = await store.selectCandidates(criteria, cursor, 4);
      if (page.length === 0) break;
      seen.push(...page.map((candidate) => candidate.sagaId));
      cursor = page.at(-1)?.cursor ?? null;
    }
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
  });

  it('refuses to commit once another run has taken the lease over, and deletes nothing', async () => {
    await ingestSagas(db.pool, variedSeeds(1));
    const criteria = eligibilityCriteria(
      { defaultRule: { retentionDays: 90, statuses: ['COMPLETED', 'COMPENSATED', 'FAILED'] }, byType: {} },
      ARCHIVE_NOW,
    );
    const [candidate] = await store.selectCandidates(criteria, null, 10);
    if (!candidate) throw new Error('one candidate');
    expect(await store.acquireLease('run-a', 60_000)).toBe(true);
    expect(await store.acquireLease('run-b', 60_000)).toBe(false);
    const object = {
      objectKey: 'sagas/k.ndjson.gz',
      bucket: 'b',
      sagaType: candidate.sagaType,
      partitionDate: candidate.partitionDate,
      lineCount: 1,
      stepCount: candidate.stepCount,
      byteCount: 10,
      sha256Base64: 'x',
    };
    expect(await store.registerPendingObject(object, 'run-a')).toBe('pending');
    await db.pool.query(`UPDATE saga_archive_lease SET expires_at = now() - interval '1 second'`);
    expect(await store.acquireLease('run-b', 60_000)).toBe(true);

    await expect(
      store.commitObject(
        object,
        [
          {
            sagaId: candidate.sagaId,
            version: candidate.version,
            eventIds: candidate.eventIds,
            byteOffset: 0,
            byteLength: 10,
            sha256Hex: '00',
          },
        ],
        { runId: 'run-a', allowPartial: true },
      ),
    ).rejects.toThrow(ArchiveLeaseLostError);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM saga_instance');
    expect(rows[0].n).toBe(1);
  });
});
