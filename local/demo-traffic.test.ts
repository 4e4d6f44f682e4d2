import type { KafkaEvent } from '../lib/ingest/kafka-event';
import { consumeHandlerFor } from '../test/support/consume';
import { createTestDatabase, type TestDatabase } from '../test/support/database';
import { DemoTraffic, planSaga, SCENARIOS, type Scenario } from './demo-traffic';

/** A deterministic generator (mulberry32), so plans are reproducible. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const FINAL_STATUS: Record<Scenario, readonly string[]> = {
  'order-completed': ['COMPLETED'],
  'payment-completed': ['COMPLETED'],
  'stock-failure': ['FAILED'],
  'payment-failure-compensated': ['COMPENSATED'],
  'timeout-compensated': ['COMPENSATED'],
  'failed-uncompensated': ['FAILED'],
  stuck: ['IN_PROGRESS'],
};

describe('demo sagas', () => {
  it.each(SCENARIOS)(
    'plans a %s saga whose latest step in event time has the expected status',
    (scenario) => {
      const plan = planSaga({ scenario, start: Date.UTC(2026, 10, 25), random: seeded(7), duplicateRate: 0 });
      const latest = [...plan].sort((a, b) => b.event.recordedAt - a.event.recordedAt)[0];
      expect(FINAL_STATUS[scenario]).toContain(latest?.event.status);
      expect(new Set(plan.map((item) => item.event.sagaId)).size).toBe(1);
    },
  );

  it('redelivers events and swaps arrival order at the configured rates', () => {
    const plan = planSaga({
      scenario: 'order-completed',
      start: 0,
      random: seeded(3),
      duplicateRate: 1,
      outOfOrderRate: 1,
    });
    const ids = plan.map((item) => item.event.eventId);
    expect(ids.length).toBe(2 * new Set(ids).size);
    const firstDeliveries = plan.slice(0, plan.length / 2);
    const arrival = [...firstDeliveries].sort((a, b) => a.deliverAt - b.deliverAt);
    expect(arrival).not.toEqual(firstDeliveries);
  });
});

describe('DemoTraffic', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('backfills history through the real consume handler as MSK batches of Confluent Avro records', async () => {
    const consume = consumeHandlerFor(db.pool);
    const batches: KafkaEvent[] = [];
    const traffic = new DemoTraffic({
      consume: async (event) => {
        batches.push(event);
        const summary = (await consume(event)) as { deadLettered: number };
        expect(summary.deadLettered).toBe(0);
      },
      sagasPerSecond: 0,
      random: seeded(11),
    });
    await traffic.backfill(60, 6 * 3_600_000);

    expect(batches.length).toBeGreaterThan(0);
    const record = Object.values(batches[0]?.records ?? {})[0]?.[0];
    expect(Buffer.from(record?.value ?? '', 'base64')[0]).toBe(0);
    const { rows } = await db.pool.query<{ current_status: string; n: number }>(
      'SELECT current_status, count(*)::int AS n FROM saga_instance GROUP BY 1',
    );
    const byStatus = Object.fromEntries(rows.map((row) => [row.current_status, row.n]));
    expect(Object.values(byStatus).reduce((a, b) => a + b, 0)).toBe(60);
    expect(byStatus.COMPLETED).toBeGreaterThan(0);
    expect((byStatus.FAILED ?? 0) + (byStatus.COMPENSATED ?? 0)).toBeGreaterThan(0);
  });
});
