import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../../test/support/fake-registry';
import { encodeAvro, kafkaEvent, kafkaRecord, type ProducedEvent } from '../../test/support/kafka';
import {
  redriveDepsFor,
  registrySchemas,
  SAGA_TRACKER_V2_SCHEMA_ID,
  sagaTrackerV2Schema,
  sagaTrackerV2Type,
} from '../../test/support/redrive';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { parseRedriveOptions } from './options';
import { redrive } from './redrive';

let db: TestDatabase;
let registry: FakeRegistry;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
// A registry of its own per test: what one test registers must not leak into the next.
beforeEach(async () => {
  await truncateAll(db.pool);
  registry = await startFakeRegistry();
});
afterEach(() => registry.close());

const good = sagaEvents(ORDER_CREATION_STEPS.slice(0, 3), { sagaId: 'saga-good' });
const refund = sagaEvents(PAYMENT_FAILURE_STEPS.slice(0, 2), { sagaId: 'saga-v2', sagaType: 'REFUND' });
const invalid: ProducedEvent = {
  ...sagaEvents(ORDER_CREATION_STEPS.slice(0, 1), { sagaId: 'saga-bad' })[0],
  metadata: 'not a JSON object',
} as ProducedEvent;

/** One batch mixing good records with poison: two records written with a schema the registry does not know yet, one invalid. */
function mixedBatch() {
  const v2 = (event: ProducedEvent) =>
    encodeAvro({ ...event, channel: 'app' }, SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Type);
  return kafkaEvent([
    ...good.map((event, index) => kafkaRecord(encodeAvro(event), { offset: index, key: event.sagaId })),
    kafkaRecord(v2(refund[0] as ProducedEvent), { offset: 10, key: 'saga-v2' }),
    kafkaRecord(v2(refund[1] as ProducedEvent), { offset: 11, key: 'saga-v2' }),
    kafkaRecord(encodeAvro(invalid), { offset: 12, key: 'saga-bad' }),
  ]);
}

async function deadLetters() {
  const { rows } = await db.pool.query(
    `SELECT id::text AS id, kafka_offset::int AS offset, event_id, reason, reason_message, status, attempts,
            last_error, resolved_at
     FROM saga_dead_letter ORDER BY kafka_offset`,
  );
  return rows;
}

async function storedEventIds(): Promise<string[]> {
  const { rows } = await db.pool.query<{ event_id: string }>(
    'SELECT event_id FROM saga_steps ORDER BY event_id',
  );
  return rows.map((row) => row.event_id);
}

function run(input: object, batchSize?: number) {
  return redrive(
    parseRedriveOptions({ source: 'table', ...input }),
    redriveDepsFor(db.pool, { schemas: registrySchemas(registry.url), ...(batchSize ? { batchSize } : {}) }),
  );
}

describe('table redrive', () => {
  it('stores the good records of a poisoned batch, and replays the poison once its schema is registered', async () => {
    const consume = consumeHandlerFor(db.pool, registrySchemas(registry.url));
    const consumed = await consume(mixedBatch());
    expect(consumed).toEqual(expect.objectContaining({ inserted: 3, deadLettered: 3 }));
    expect(await storedEventIds()).toEqual(good.map((event) => event.eventId).sort());

    const before = await run({});
    expect(before).toEqual(
      expect.objectContaining({ requested: 3, successful: 0, failed: 3, incomplete: false }),
    );
    expect((await deadLetters()).map((row) => [row.reason, row.status, row.attempts])).toEqual([
      ['UNKNOWN_SCHEMA_ID', 'PENDING', 1],
      ['UNKNOWN_SCHEMA_ID', 'PENDING', 1],
      ['VALIDATION_FAILED', 'PENDING', 1],
    ]);

    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
    const after = await run({});

    expect(after).toEqual(expect.objectContaining({ requested: 3, successful: 2, failed: 1, skipped: 0 }));
    expect(after.results.map((result) => [result.eventId, result.status, result.reason])).toEqual([
      [refund[0]?.eventId, 'REPLAYED', null],
      [refund[1]?.eventId, 'REPLAYED', null],
      [invalid.eventId, 'FAILED', 'VALIDATION_FAILED'],
    ]);
    const rows = await deadLetters();
    expect(rows.map((row) => [row.status, row.attempts, row.resolved_at !== null])).toEqual([
      ['REPLAYED', 2, true],
      ['REPLAYED', 2, true],
      ['PENDING', 2, false],
    ]);
    expect(rows[2]?.last_error).toContain('metadata');
    expect(await storedEventIds()).toEqual([...good, ...refund].map((event) => event.eventId).sort());
    const { rows: sagas } = await db.pool.query(
      "SELECT saga_type, current_status, step_count FROM saga_instance WHERE saga_id = 'saga-v2'",
    );
    expect(sagas).toEqual([{ saga_type: 'REFUND', current_status: 'IN_PROGRESS', step_count: 2 }]);
  });

  it('keeps a record that fails again for another reason pending, with the new reason', async () => {
    await consumeHandlerFor(db.pool, registrySchemas(registry.url))(mixedBatch());
    // A wrong schema under id 2: the bytes no longer fail as unknown but as undecodable.
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, {
      type: 'record',
      name: 'Other',
      fields: [{ name: 'n', type: 'int' }],
    });

    const report = await run({ limit: 1 });

    expect(report.results).toEqual([expect.objectContaining({ status: 'FAILED', reason: 'MALFORMED_AVRO' })]);
    const [row] = await deadLetters();
    expect(row).toEqual(
      expect.objectContaining({
        reason: 'MALFORMED_AVRO',
        status: 'PENDING',
        attempts: 1,
        resolved_at: null,
      }),
    );
    expect(row?.reason_message).toContain('does not decode with schema 2');
    expect(row?.last_error).toBe(row?.reason_message);
  });

  it('applies the first of two dead letters sharing an event id and keeps the other as a conflict', async () => {
    const first = refund[0] as ProducedEvent;
    const changed = { ...first, status: 'FAILED', channel: 'app' };
    const v2 = (event: ProducedEvent) => encodeAvro(event, SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Type);
    await consumeHandlerFor(
      db.pool,
      registrySchemas(registry.url),
    )(
      kafkaEvent([
        kafkaRecord(v2({ ...first, channel: 'app' }), { offset: 1 }),
        kafkaRecord(v2(changed), { offset: 2 }),
      ]),
    );
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());

    // Batches of one: the conflict is found against the stored row, not within one plan.
    const report = await run({}, 1);

    expect(report.results.map((result) => [result.status, result.reason])).toEqual([
      ['REPLAYED', null],
      ['FAILED', 'EVENT_ID_CONFLICT'],
    ]);
    expect((await deadLetters()).map((row) => [row.reason, row.status])).toEqual([
      ['UNKNOWN_SCHEMA_ID', 'REPLAYED'],
      ['EVENT_ID_CONFLICT', 'PENDING'],
    ]);
  });

  it('walks the dead letters in Kafka offset order across batches, whatever the number of digits', async () => {
    const offsets = [100, 9, 10, 8, 11];
    await consumeHandlerFor(
      db.pool,
      registrySchemas(registry.url),
    )(
      kafkaEvent(
        offsets.map((offset, index) =>
          kafkaRecord(
            encodeAvro(
              { ...(refund[0] as ProducedEvent), eventId: `e-${index}`, channel: 'app' },
              SAGA_TRACKER_V2_SCHEMA_ID,
              sagaTrackerV2Type,
            ),
            { offset },
          ),
        ),
      ),
    );
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());

    const report = await run({}, 2);

    expect(report.results.map((result) => result.record)).toEqual(
      [8, 9, 10, 11, 100].map((offset) => `c4ang.saga.tracker-0@${offset}`),
    );
    expect(report.successful).toBe(5);
  });

  it('reports what a dry run would do and changes nothing', async () => {
    await consumeHandlerFor(db.pool, registrySchemas(registry.url))(mixedBatch());
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
    const rowsBefore = await deadLetters();

    const report = await run({ dryRun: true });

    expect(report).toEqual(expect.objectContaining({ dryRun: true, requested: 3, successful: 2, failed: 1 }));
    expect(await deadLetters()).toEqual(rowsBefore);
    expect(await storedEventIds()).toEqual(good.map((event) => event.eventId).sort());
  });

  it('replays only the requested ids, in batches, and says why other requested ids were not replayed', async () => {
    await consumeHandlerFor(db.pool, registrySchemas(registry.url))(mixedBatch());
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
    const [first, second] = await deadLetters();
    await run({ ids: [first?.id] });

    const report = await run({ ids: [first?.id, second?.id, '999999'] }, 1);

    expect(report.results.map((result) => [result.id, result.status, result.reason])).toEqual([
      [second?.id, 'REPLAYED', null],
      [first?.id, 'SKIPPED', 'ALREADY_REPLAYED'],
      ['999999', 'SKIPPED', 'NOT_FOUND'],
    ]);
    expect((await deadLetters()).map((row) => row.status)).toEqual(['REPLAYED', 'REPLAYED', 'PENDING']);
  });

  it('stops at the limit and leaves newer dead letters out with since', async () => {
    await consumeHandlerFor(db.pool, registrySchemas(registry.url))(mixedBatch());
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
    await db.pool.query(
      "UPDATE saga_dead_letter SET created_at = now() - interval '2 days' WHERE kafka_offset = 10",
    );

    expect(
      (await run({ limit: 1, since: new Date(Date.now() - 86_400_000).toISOString() })).results.map(
        (result) => result.eventId,
      ),
    ).toEqual([refund[1]?.eventId]);
    expect((await run({ limit: 2 }, 1)).results.map((result) => result.eventId)).toEqual([
      refund[0]?.eventId,
      invalid.eventId,
    ]);
  });

  it('skips a dead letter another redrive holds, and replays it once released', async () => {
    await consumeHandlerFor(db.pool, registrySchemas(registry.url))(mixedBatch());
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
    const [held, free] = await deadLetters();
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT * FROM saga_dead_letter WHERE id = $1 FOR UPDATE', [held?.id]);

      const report = await run({ ids: [held?.id, free?.id] });

      expect(report.results.map((result) => [result.id, result.status, result.reason])).toEqual([
        [free?.id, 'REPLAYED', null],
        [held?.id, 'SKIPPED', 'LOCKED'],
      ]);
      await other.query('COMMIT');
    } finally {
      other.release();
    }
    expect((await run({ ids: [held?.id] })).results[0]?.status).toBe('REPLAYED');
  });

  it('counts an attempt and keeps the error when the registry is down, and stops the run', async () => {
    await consumeHandlerFor(db.pool, registrySchemas(registry.url))(mixedBatch());
    registry.failWith(503);

    const report = await run({});

    expect(report).toEqual(expect.objectContaining({ failed: 3, incomplete: true }));
    expect(report.results.every((result) => result.reason === 'TRANSIENT')).toBe(true);
    expect(report.errors[0]).toContain('503');
    const rows = await deadLetters();
    expect(rows.map((row) => [row.reason, row.status, row.attempts])).toEqual([
      ['UNKNOWN_SCHEMA_ID', 'PENDING', 1],
      ['UNKNOWN_SCHEMA_ID', 'PENDING', 1],
      ['VALIDATION_FAILED', 'PENDING', 1],
    ]);
    expect(rows[0]?.last_error).toContain('503');
  });
});
