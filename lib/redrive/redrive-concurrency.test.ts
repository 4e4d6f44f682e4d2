import pg from 'pg';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../../test/support/fake-registry';
import {
  encodeAvro,
  kafkaEvent,
  kafkaRecord,
  type ProducedEvent,
  recordsFor,
} from '../../test/support/kafka';
import { putOnFailureRecord } from '../../test/support/on-failure';
import {
  emptyBucket,
  redriveDepsFor,
  registrySchemas,
  SAGA_TRACKER_V2_SCHEMA_ID,
  sagaTrackerV2Schema,
  sagaTrackerV2Type,
  snapshot,
} from '../../test/support/redrive';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { parseRedriveOptions } from './options';
import { redrive } from './redrive';
import type { RedriveReport } from './report';
import { isSuccess } from './report';

const BUCKET = 'saga-dlq-concurrency';

let db: TestDatabase;
let s3: LocalS3;
let registry: FakeRegistry;
/** One pool per concurrent actor, so they really run side by side. */
let pools: pg.Pool[];

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([BUCKET]);
  pools = [1, 2, 3].map(() => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    return pool;
  });
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await s3.close();
  await db.drop();
});
beforeEach(async () => {
  registry = await startFakeRegistry();
});
afterEach(() => registry.close());

const v2 = (event: ProducedEvent) =>
  encodeAvro({ ...event, channel: 'app' }, SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Type);

const sagaA = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-a' });
const sagaB = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-b' });
const sagaC = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-c' });
const refunds = sagaEvents(PAYMENT_FAILURE_STEPS.slice(0, 3), { sagaId: 'saga-r', sagaType: 'REFUND' });
const invalid = { ...(sagaC[0] as ProducedEvent), eventId: 'bad-1', sagaId: 'saga-bad', metadata: '[1]' };

/**
 * Dead letters in both stores: the consumer dead-lettered two records written
 * with a then unknown schema and an invalid one; the event source mapping
 * discarded three whole batches to S3 (one of them with a v2 record). Then
 * the schema gets registered.
 */
async function arrange(): Promise<void> {
  // A registry that does not know schema 2 yet.
  await registry.close();
  registry = await startFakeRegistry();
  await truncateAll(db.pool);
  await emptyBucket(s3.client, BUCKET);
  await consumeHandlerFor(
    db.pool,
    registrySchemas(registry.url),
  )(
    kafkaEvent([
      ...sagaA
        .slice(0, 3)
        .map((event, index) => kafkaRecord(encodeAvro(event), { partition: 0, offset: index })),
      kafkaRecord(v2(refunds[0] as ProducedEvent), { partition: 1, offset: 0 }),
      kafkaRecord(v2(refunds[1] as ProducedEvent), { partition: 1, offset: 1 }),
      kafkaRecord(encodeAvro(invalid), { partition: 1, offset: 2 }),
    ]),
  );
  await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(sagaB, { firstOffset: 100 })));
  await putOnFailureRecord(
    s3.client,
    BUCKET,
    kafkaEvent(recordsFor(sagaA.slice(3), { partitions: 1, firstOffset: 3 })),
  );
  await putOnFailureRecord(
    s3.client,
    BUCKET,
    kafkaEvent([
      ...recordsFor(sagaC.slice(0, 4), { partitions: 1, firstOffset: 200 }),
      kafkaRecord(v2(refunds[2] as ProducedEvent), { partition: 1, offset: 3 }),
    ]),
  );
  registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
}

/** What the consumer gets meanwhile: the rest of saga C, and one of its events again. */
const liveBatch = kafkaEvent(
  recordsFor([sagaC[3] as ProducedEvent, ...sagaC.slice(4)], { partitions: 1, firstOffset: 300 }),
);

function runRedrive(pool: pg.Pool): Promise<RedriveReport> {
  return redrive(
    parseRedriveOptions({}),
    redriveDepsFor(pool, { schemas: registrySchemas(registry.url), s3, bucket: BUCKET, batchSize: 2 }),
  );
}

/** The snapshot without S3 keys (random per arrangement). */
async function outcome() {
  const state = await snapshot(db.pool);
  return {
    ...state,
    batches: state.batches.map((batch) => ({ ...(batch as object), object_key: undefined })),
  };
}

function successesPerUnit(reports: readonly RedriveReport[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const report of reports) {
    for (const result of report.results) {
      if (isSuccess(result.status)) counts.set(result.id, (counts.get(result.id) ?? 0) + 1);
    }
  }
  return counts;
}

describe('redrive under concurrency', () => {
  it('ends in the same state whether it runs alone, twice, or twice at once beside the consumer', async () => {
    const [first, second, third] = pools as [pg.Pool, pg.Pool, pg.Pool];
    await arrange();
    const alone = await runRedrive(first);
    await consumeHandlerFor(first)(liveBatch);
    const reference = await outcome();
    expect(alone).toEqual(
      expect.objectContaining({ successful: 18, failed: 1, skipped: 0, incomplete: false }),
    );

    // Twice in a row: the second run only retries the dead letter that cannot succeed.
    const repeat = await runRedrive(first);
    expect(repeat).toEqual(expect.objectContaining({ requested: 1, successful: 0, failed: 1 }));
    expect(repeat.results[0]?.eventId).toBe(invalid.eventId);
    expect(await outcome()).toEqual(reference);

    for (let round = 0; round < 3; round++) {
      await arrange();
      const [one, two] = await Promise.all([
        runRedrive(first),
        runRedrive(second),
        consumeHandlerFor(third)(liveBatch),
      ]);

      expect(await outcome()).toEqual(reference);
      // Every dead letter was replayed by exactly one of the runs; the other skipped it or never saw it.
      const successes = successesPerUnit([one, two]);
      expect(successes.size).toBe(18);
      expect([...successes.values()].every((count) => count === 1)).toBe(true);
      expect(one.errors).toEqual([]);
      expect(two.errors).toEqual([]);
    }
    const { rows } = await db.pool.query<{ event_id: string; n: number }>(
      'SELECT event_id, count(*)::int AS n FROM saga_steps GROUP BY event_id HAVING count(*) > 1',
    );
    expect(rows).toEqual([]);
  });
});
