import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../../test/support/fake-registry';
import { encodeAvro, kafkaEvent, kafkaRecord, type ProducedEvent } from '../../test/support/kafka';
import { redriveDepsFor, registrySchemas } from '../../test/support/redrive';
import { ORDER_CREATION_STEPS, sagaEvents } from '../../test/support/sagas';
import { listDeadLetters, replayDeadLetters } from './api';
import { parseDeadLetterListQuery, parseReplayRequest } from './options';

let db: TestDatabase;
let registry: FakeRegistry;
beforeAll(async () => {
  db = await createTestDatabase();
  registry = await startFakeRegistry();
});
afterAll(async () => {
  await registry.close();
  await db.drop();
});
beforeEach(() => truncateAll(db.pool));

const events = sagaEvents(ORDER_CREATION_STEPS.slice(0, 3), { sagaId: 'saga-api' });
const [first, second, third] = events as [ProducedEvent, ProducedEvent, ProducedEvent];
// A producer clock far ahead: rejected now, accepted once the tracker allows more skew.
const future = Date.now() + 3 * 86_400_000;

async function consumeWithDeadLetters(): Promise<void> {
  await consumeHandlerFor(
    db.pool,
    registrySchemas(registry.url),
  )(
    kafkaEvent([
      kafkaRecord(encodeAvro(first), { offset: 0 }),
      kafkaRecord(encodeAvro({ ...second, recordedAt: future, eventTimestamp: future }), { offset: 1 }),
      kafkaRecord(encodeAvro({ ...third, metadata: '"text"' }), { offset: 2 }),
      kafkaRecord(Buffer.from([7, 7, 7]), { offset: 3 }),
    ]),
  );
}

function deps(maxFutureMs?: number) {
  return {
    ...redriveDepsFor(db.pool, { schemas: registrySchemas(registry.url) }),
    ...(maxFutureMs ? { decode: { maxFutureMs } } : {}),
  };
}

describe('replayDeadLetters (POST /internal/v1/sagas/replay)', () => {
  it('answers per requested event: replayed, failed again with its reason, already stored, or not found', async () => {
    await consumeWithDeadLetters();

    const response = await replayDeadLetters(
      deps(7 * 86_400_000),
      parseReplayRequest({ eventIds: [second.eventId, third.eventId, first.eventId, 'nobody'] }),
    );

    expect(response).toEqual({
      requested: 4,
      successful: 2,
      failed: 2,
      skipped: 0,
      dryRun: false,
      results: [
        { eventId: second.eventId, status: 'REPLAYED', deadLetterIds: [expect.any(String)] },
        {
          eventId: third.eventId,
          status: 'FAILED',
          reason: 'VALIDATION_FAILED',
          message: expect.stringContaining('metadata'),
          deadLetterIds: [expect.any(String)],
        },
        { eventId: first.eventId, status: 'ALREADY_STORED', deadLetterIds: [] },
        { eventId: 'nobody', status: 'NOT_FOUND', reason: 'NOT_FOUND', deadLetterIds: [] },
      ],
    });
    const again = await replayDeadLetters(
      deps(7 * 86_400_000),
      parseReplayRequest({ eventIds: [second.eventId] }),
    );
    expect(again.results).toEqual([
      { eventId: second.eventId, status: 'ALREADY_STORED', deadLetterIds: [expect.any(String)] },
    ]);
  });

  it('reports what would happen on a dry run and replays nothing', async () => {
    await consumeWithDeadLetters();

    const response = await replayDeadLetters(
      deps(7 * 86_400_000),
      parseReplayRequest({ eventIds: [second.eventId], dryRun: true }),
    );

    expect(response).toEqual(expect.objectContaining({ dryRun: true, successful: 1 }));
    expect(response.results[0]?.status).toBe('REPLAYED');
    const { rows } = await db.pool.query(
      "SELECT count(*)::int AS n FROM saga_dead_letter WHERE status = 'PENDING'",
    );
    expect(rows[0].n).toBe(3);
  });
});

describe('listDeadLetters (GET /internal/v1/dead-letters)', () => {
  it('pages the pending dead letters newest first, with raw bytes and reasons', async () => {
    await consumeWithDeadLetters();
    await db.pool.query(
      "UPDATE saga_dead_letter SET created_at = created_at - (kafka_offset || ' minutes')::interval",
    );

    const page = await listDeadLetters(db.pool, parseDeadLetterListQuery({ size: '2' }));

    expect(page.page).toEqual({ number: 0, size: 2, totalElements: 3, totalPages: 2 });
    expect(page.content.map((item) => [item.offset, item.reason])).toEqual([
      [1, 'VALIDATION_FAILED'],
      [2, 'VALIDATION_FAILED'],
    ]);
    const next = await listDeadLetters(db.pool, parseDeadLetterListQuery({ size: '2', page: '1' }));
    expect(next.content).toEqual([
      expect.objectContaining({
        offset: 3,
        reason: 'INVALID_MAGIC_BYTE',
        value: Buffer.from([7, 7, 7]).toString('base64'),
        eventId: null,
        status: 'PENDING',
        attempts: 0,
        source: 'consumer',
        topic: 'c4ang.saga.tracker',
      }),
    ]);
  });

  it('breaks ties of one batch by id, numerically', async () => {
    await consumeHandlerFor(db.pool)(
      kafkaEvent(Array.from({ length: 12 }, (_, offset) => kafkaRecord(Buffer.from([9]), { offset }))),
    );

    const page = await listDeadLetters(db.pool, parseDeadLetterListQuery({ size: '12' }));

    expect(page.content.map((item) => Number(item.id))).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('filters by reason, status, event id and date', async () => {
    await consumeWithDeadLetters();
    await replayDeadLetters(deps(7 * 86_400_000), parseReplayRequest({ eventIds: [second.eventId] }));

    const byReason = await listDeadLetters(
      db.pool,
      parseDeadLetterListQuery({ reason: 'INVALID_MAGIC_BYTE' }),
    );
    expect(byReason.content.map((item) => item.offset)).toEqual([3]);
    const replayed = await listDeadLetters(db.pool, parseDeadLetterListQuery({ status: 'REPLAYED' }));
    expect(replayed.content).toEqual([
      expect.objectContaining({
        eventId: second.eventId,
        status: 'REPLAYED',
        attempts: 1,
        resolvedAt: expect.any(String),
      }),
    ]);
    const all = await listDeadLetters(
      db.pool,
      parseDeadLetterListQuery({ status: 'ALL', sort: 'createdAt,asc' }),
    );
    expect(all.page.totalElements).toBe(3);
    const byEvent = await listDeadLetters(db.pool, parseDeadLetterListQuery({ eventId: third.eventId }));
    expect(byEvent.content.map((item) => item.eventId)).toEqual([third.eventId]);
    const later = await listDeadLetters(
      db.pool,
      parseDeadLetterListQuery({ fromDate: new Date(Date.now() + 60_000).toISOString() }),
    );
    expect(later.page.totalElements).toBe(0);
  });
});
