import fc from 'fast-check';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { kafkaEvent, type ProducedEvent, recordsFor } from '../../test/support/kafka';
import { storedState } from '../../test/support/state';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const STATUSES = ['STARTED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'COMPENSATED'] as const;

/** Few distinct times so that ties on recordedAt (and on eventTimestamp) are common. */
const stepArb = fc.record({
  status: fc.constantFrom(...STATUSES),
  step: fc.constantFrom('ORDER_CREATED', 'STOCK_RESERVED', 'PAYMENT_FAILED', 'STOCK_RELEASED'),
  recordedAt: fc.integer({ min: 0, max: 3 }).map((n) => T0 + n * 1_000),
  eventTimestamp: fc.integer({ min: 0, max: 2 }).map((n) => T0 + n * 1_000),
  traceId: fc.constantFrom('t-1', 't-2', null),
});

// Ids whose byte order differs from their code-unit and locale orders.
const idSuffixes = ['a', 'B', 'é', 'Z', '_', '한', 'b1', 'A'];

const sagasArb = fc
  .array(fc.array(stepArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 })
  .map((sagas) =>
    sagas.flatMap((steps, sagaIndex) =>
      steps.map(
        (spec, stepIndex): ProducedEvent => ({
          eventId: `ev-${sagaIndex}-${idSuffixes[stepIndex % idSuffixes.length]}${stepIndex}`,
          eventTimestamp: spec.eventTimestamp,
          sagaId: `saga-${sagaIndex}`,
          sagaType: sagaIndex % 2 === 0 ? 'ORDER_CREATION' : 'PAYMENT_COMPLETION',
          step: spec.step,
          status: spec.status,
          orderId: `order-${sagaIndex}`,
          metadata: spec.traceId ? JSON.stringify({ traceId: spec.traceId }) : null,
          recordedAt: spec.recordedAt,
        }),
      ),
    ),
  );

/** The events with some delivered twice, in a random order, cut into random batches. */
const deliveryArb = sagasArb.chain((events) =>
  fc
    .record({
      duplicated: fc.subarray(events),
      order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
        minLength: events.length * 2,
        maxLength: events.length * 2,
      }),
      cuts: fc.array(fc.boolean(), { minLength: events.length * 2, maxLength: events.length * 2 }),
      partitions: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ duplicated, order, cuts, partitions }) => {
      const all = [...events, ...duplicated];
      const shuffled = all
        .map((event, index) => ({ event, key: order[index] ?? 0 }))
        .sort((a, b) => a.key - b.key)
        .map(({ event }) => event);
      const batches: ProducedEvent[][] = [[]];
      shuffled.forEach((event, index) => {
        batches.at(-1)?.push(event);
        if (cuts[index] && index < shuffled.length - 1) batches.push([]);
      });
      return { events, batches, partitions };
    }),
);

async function ingest(batches: readonly ProducedEvent[][], partitions: number): Promise<void> {
  const consume = consumeHandlerFor(db.pool);
  let offset = 0;
  for (const batch of batches) {
    await consume(kafkaEvent(recordsFor(batch, { partitions, firstOffset: offset })));
    offset += batch.length;
  }
}

describe('ingest order independence', () => {
  it('stores the same rows whatever the arrival order, duplication and batching of the same events', async () => {
    await fc.assert(
      fc.asyncProperty(deliveryArb, async ({ events, batches, partitions }) => {
        await truncateAll(db.pool);
        await ingest([events], 1);
        const reference = await storedState(db.pool);

        await truncateAll(db.pool);
        await ingest(batches, partitions);
        const shuffled = await storedState(db.pool);

        expect(shuffled).toEqual(reference);
        const expectedCount = (sagaId: string) => events.filter((event) => event.sagaId === sagaId).length;
        for (const saga of shuffled.sagas) expect(saga.step_count).toBe(expectedCount(saga.saga_id));
      }),
      { numRuns: 60 },
    );
  });

  it('picks the latest step by recorded_at, then eventTimestamp, then eventId in byte order', async () => {
    await truncateAll(db.pool);
    const base = {
      sagaId: 'saga-tie',
      sagaType: 'ORDER_CREATION',
      orderId: 'o',
      metadata: null,
      recordedAt: T0,
      eventTimestamp: T0,
    };
    // 'é' (0xC3 0xA9 in UTF-8) sorts after 'z' in bytes, though many collations put it before.
    const events: ProducedEvent[] = [
      { ...base, eventId: 'z', step: 'BY_Z', status: 'IN_PROGRESS' },
      { ...base, eventId: 'é', step: 'BY_E_ACUTE', status: 'COMPLETED' },
      { ...base, eventId: 'zz-older', step: 'OLDER', status: 'FAILED', recordedAt: T0 - 1 },
      { ...base, eventId: 'a-earlier-ts', step: 'EARLIER_TS', status: 'FAILED', eventTimestamp: T0 - 1 },
    ];
    await ingest([events.slice(2), events.slice(0, 2)], 1);
    const { sagas } = await storedState(db.pool);
    expect(sagas[0]).toEqual(
      expect.objectContaining({ last_step: 'BY_E_ACUTE', current_status: 'COMPLETED', step_count: 4 }),
    );
  });
});
