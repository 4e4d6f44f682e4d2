import { apiClientFor } from '../../test/support/api';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../../test/support/fake-registry';
import { encodeAvro, kafkaEvent, kafkaRecord, type ProducedEvent } from '../../test/support/kafka';
import {
  registrySchemas,
  SAGA_TRACKER_V2_SCHEMA_ID,
  sagaTrackerV2Schema,
  sagaTrackerV2Type,
} from '../../test/support/redrive';
import { ORDER_CREATION_STEPS, sagaEvents } from '../../test/support/sagas';
import { memoryTelemetry } from '../../test/support/telemetry';

/**
 * The dead-letter admin routes through the real API handler (wired by
 * wireApi), over real PostgreSQL and a schema registry over HTTP; the dead
 * letters come from the real consume handler.
 */

let db: TestDatabase;
let registry: FakeRegistry;
let metrics: ReturnType<typeof memoryTelemetry>;
let call: ReturnType<typeof apiClientFor>;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
afterEach(() => registry.close());
beforeEach(async () => {
  await truncateAll(db.pool);
  // A registry of its own per test: what one test registers, the next must not know.
  registry = await startFakeRegistry();
  metrics = memoryTelemetry();
  // Each replay builds fresh registry caches, as functions/api/index.ts does from SCHEMA_REGISTRY_*.
  call = apiClientFor(db.pool, {
    replaySchemas: () => registrySchemas(registry.url),
    maxClockSkewSeconds: 7 * 86_400,
    telemetry: metrics.telemetry,
  });
});

const events = sagaEvents(ORDER_CREATION_STEPS.slice(0, 4), { sagaId: 'dl-saga' });
const [first, second, third, fourth] = events as [ProducedEvent, ProducedEvent, ProducedEvent, ProducedEvent];
// A producer clock three days ahead: beyond the consumer's default skew, within the API's seven days.
const future = Date.now() + 3 * 86_400_000;

/**
 * One batch: a good event; one written with a schema the registry does not
 * know yet (UNKNOWN_SCHEMA_ID until it is registered; no event id: the value
 * never decoded); one whose metadata is not an object (VALIDATION_FAILED for
 * good); bytes that are not Avro at all; one dated beyond the clock skew the
 * consumer allows (VALIDATION_FAILED until more skew is allowed).
 */
async function consumeWithDeadLetters(): Promise<void> {
  await consumeHandlerFor(
    db.pool,
    registrySchemas(registry.url),
  )(
    kafkaEvent([
      kafkaRecord(encodeAvro(first), { offset: 0 }),
      kafkaRecord(encodeAvro({ ...second, channel: 'app' }, SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Type), {
        offset: 1,
      }),
      kafkaRecord(encodeAvro({ ...third, metadata: '"text"' }), { offset: 2 }),
      kafkaRecord(Buffer.from([7, 7, 7]), { offset: 3 }),
      kafkaRecord(encodeAvro({ ...fourth, recordedAt: future, eventTimestamp: future }), { offset: 4 }),
    ]),
  );
}

async function deadLetterIdOf(offset: number): Promise<string> {
  const { rows } = await db.pool.query(
    'SELECT id::text AS id FROM saga_dead_letter WHERE kafka_offset = $1',
    [offset],
  );
  return rows[0].id;
}

const replay = (body: unknown) => call('POST', '/internal/v1/sagas/replay', { body });

describe('POST /internal/v1/sagas/replay', () => {
  it("replays by event id what the API's own settings now accept, and answers per event", async () => {
    await consumeWithDeadLetters();

    const answer = await replay({ eventIds: [fourth.eventId, third.eventId, first.eventId, 'nobody'] });

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      requested: 4,
      successful: 2,
      failed: 2,
      skipped: 0,
      dryRun: false,
      results: [
        { eventId: fourth.eventId, status: 'REPLAYED', deadLetterIds: [await deadLetterIdOf(4)] },
        {
          eventId: third.eventId,
          status: 'FAILED',
          reason: 'VALIDATION_FAILED',
          message: expect.stringContaining('metadata'),
          deadLetterIds: [await deadLetterIdOf(2)],
        },
        { eventId: first.eventId, status: 'ALREADY_STORED', deadLetterIds: [] },
        { eventId: 'nobody', status: 'NOT_FOUND', reason: 'NOT_FOUND', deadLetterIds: [] },
      ],
    });
    const steps = await call('GET', '/api/v1/sagas/dl-saga/steps');
    expect(steps.body.steps.map((step: { eventId: string }) => step.eventId)).toEqual([
      first.eventId,
      fourth.eventId,
    ]);
    const again = await replay({ eventIds: [fourth.eventId] });
    expect(again.body.results).toEqual([
      { eventId: fourth.eventId, status: 'ALREADY_STORED', deadLetterIds: [await deadLetterIdOf(4)] },
    ]);
  });

  it('replays by dead-letter id a record that had no event id, once the schema is registered', async () => {
    await consumeWithDeadLetters();
    const listed = await call('GET', '/internal/v1/dead-letters?reason=UNKNOWN_SCHEMA_ID');
    expect(listed.body.content).toEqual([expect.objectContaining({ offset: 1, eventId: null })]);
    const { id } = listed.body.content[0];

    const before = await replay({ deadLetterIds: [id] });
    expect(before.body).toEqual(
      expect.objectContaining({
        successful: 0,
        failed: 1,
        results: [
          expect.objectContaining({
            eventId: null,
            status: 'FAILED',
            reason: 'UNKNOWN_SCHEMA_ID',
            deadLetterIds: [id],
          }),
        ],
      }),
    );

    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
    const after = await replay({ deadLetterIds: [Number(id)] });

    expect(after.body).toEqual(
      expect.objectContaining({
        requested: 1,
        successful: 1,
        failed: 0,
        results: [{ eventId: second.eventId, status: 'REPLAYED', deadLetterIds: [id] }],
      }),
    );
    const steps = await call('GET', '/api/v1/sagas/dl-saga/steps');
    expect(steps.body.steps.map((step: { eventId: string }) => step.eventId)).toEqual([
      first.eventId,
      second.eventId,
    ]);
    const replayed = await call('GET', '/internal/v1/dead-letters?status=REPLAYED');
    expect(replayed.body.content).toEqual([
      expect.objectContaining({ id, eventId: null, status: 'REPLAYED', attempts: 2 }),
    ]);
    const again = await replay({ deadLetterIds: [id, '999999'] });
    expect(again.body.results).toEqual([
      { eventId: null, status: 'ALREADY_STORED', deadLetterIds: [id] },
      { eventId: null, status: 'NOT_FOUND', reason: 'NOT_FOUND', deadLetterIds: ['999999'] },
    ]);
    expect((await call('GET', '/api/v1/sagas/dl-saga')).body.stepCount).toBe(2);

    expect(metrics.value('saga_dead_letters_redriven_total', { outcome: 'replayed' })).toBe(1);
    expect(metrics.value('saga_dead_letters_redriven_total', { outcome: 'failed' })).toBe(1);
    expect(metrics.value('saga_tracker_db_query_seconds_count', { query: 'replay_dead_letters' })).toBe(3);
  });

  it('says what would happen on a dry run and changes nothing', async () => {
    await consumeWithDeadLetters();

    const answer = await replay({ eventIds: [fourth.eventId], dryRun: true });

    expect(answer.body).toEqual(expect.objectContaining({ dryRun: true, successful: 1 }));
    expect(answer.body.results[0].status).toBe('REPLAYED');
    expect((await call('GET', '/api/v1/sagas/dl-saga')).body.stepCount).toBe(1);
    expect((await call('GET', '/internal/v1/dead-letters')).body.page.totalElements).toBe(4);
    expect(metrics.value('saga_dead_letters_redriven_total')).toBe(0);
  });

  it('answers 503 while the schema registry is down, and replays once it is back', async () => {
    await consumeWithDeadLetters();
    registry.failWith(503);

    const down = await replay({ eventIds: [fourth.eventId] });

    expect(down.status).toBe(503);
    expect(down.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(down.body.message).toMatch(/replay was interrupted/);
    expect(down.text).not.toContain(registry.url);
    registry.failWith(null);
    const back = await replay({ eventIds: [fourth.eventId] });
    expect(back.body.results[0].status).toBe('REPLAYED');
  });

  it.each([
    ['no events', 'body.eventIds', {}, /is required \(or deadLetterIds\)/],
    ['an empty list', 'body.eventIds', { eventIds: [] }, /at least one event/],
    ['an empty id', 'body.eventIds.0', { eventIds: [''] }, /must not be empty/],
    ['a long id', 'body.eventIds.0', { eventIds: ['e'.repeat(101)] }, /at most 100/],
    [
      '1001 events',
      'body.eventIds',
      { eventIds: Array.from({ length: 1001 }, (_, index) => `e-${index}`) },
      /at most 1000/,
    ],
    ['both lists', 'body.deadLetterIds', { eventIds: ['e-1'], deadLetterIds: ['1'] }, /give one of them/],
    ['a bad dead-letter id', 'body.deadLetterIds.0', { deadLetterIds: ['x'] }, /dead-letter id/],
    ['a dryRun that is not a boolean', 'body.dryRun', { eventIds: ['e-1'], dryRun: 'yes' }, /boolean/],
    ['an unknown field', 'body.force', { eventIds: ['e-1'], force: true }, /force/],
    ['broken JSON', 'body', '{"eventIds": [', /not valid JSON/],
    ['an array', 'body', ['e-1'], /object/],
  ])('answers 400 for %s, naming %s', async (_case, parameter, body, message) => {
    const answer = await replay(body);
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe(parameter);
    expect(answer.body.message).toMatch(message);
  });

  it('refuses a caller that is not an IAM principal, and GET', async () => {
    const anonymous = await call('POST', '/internal/v1/sagas/replay', {
      body: { eventIds: ['e'] },
      iam: null,
    });
    expect(anonymous.status).toBe(403);
    expect((await call('GET', '/internal/v1/sagas/replay')).status).toBe(405);
  });
});

describe('GET /internal/v1/dead-letters', () => {
  it('pages the pending dead letters newest first, with raw bytes and reasons', async () => {
    await consumeWithDeadLetters();
    await db.pool.query(
      "UPDATE saga_dead_letter SET created_at = created_at - (kafka_offset || ' minutes')::interval",
    );

    const page = await call('GET', '/internal/v1/dead-letters?size=2');
    const next = await call('GET', '/internal/v1/dead-letters?size=2&page=1');

    expect(page.body.page).toEqual({ number: 0, size: 2, totalElements: 4, totalPages: 2 });
    expect(
      page.body.content.map((item: { offset: number; reason: string }) => [item.offset, item.reason]),
    ).toEqual([
      [1, 'UNKNOWN_SCHEMA_ID'],
      [2, 'VALIDATION_FAILED'],
    ]);
    expect(next.body.content).toEqual([
      expect.objectContaining({
        offset: 3,
        reason: 'INVALID_MAGIC_BYTE',
        value: Buffer.from([7, 7, 7]).toString('base64'),
        eventId: null,
        status: 'PENDING',
        source: 'consumer',
      }),
      expect.objectContaining({ offset: 4, reason: 'VALIDATION_FAILED', eventId: fourth.eventId }),
    ]);
  });

  it('filters by reason, status, event and creation time', async () => {
    await consumeWithDeadLetters();
    const ids = (query: string) =>
      call('GET', `/internal/v1/dead-letters?${query}`).then((answer) =>
        answer.body.content.map((item: { offset: number }) => item.offset),
      );
    expect(await ids('reason=VALIDATION_FAILED')).toEqual([4, 2]);
    expect(await ids('status=REPLAYED')).toEqual([]);
    expect(await ids('status=ALL&sort=createdAt,asc')).toEqual([1, 2, 3, 4]);
    expect(await ids(`eventId=${third.eventId}`)).toEqual([2]);
    expect(await ids('reason=VALIDATION_FAILED&size=1&page=1')).toEqual([2]);
    expect(await ids('sagaId=nobody&status=ALL')).toEqual([]);
    expect(await ids(`fromDate=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
  });

  it.each([
    ['reason=NOPE', 'reason'],
    ['status=DONE', 'status'],
    ['size=0', 'size'],
    ['size=101', 'size'],
    ['page=-1', 'page'],
    ['page=two', 'page'],
    ['fromDate=yesterday', 'fromDate'],
    ['sort=reason,asc', 'sort'],
    ['colour=red', 'colour'],
  ])('answers 400 for %s, naming %s', async (query, parameter) => {
    const answer = await call('GET', `/internal/v1/dead-letters?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe(parameter);
    expect(answer.body.message).toContain(parameter);
  });

  it('refuses a caller that is not an IAM principal', async () => {
    expect((await call('GET', '/internal/v1/dead-letters', { iam: null })).status).toBe(403);
  });
});
