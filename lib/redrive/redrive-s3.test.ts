import { PutObjectCommand } from '@aws-sdk/client-s3';
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
import { onFailureRecord, putOnFailureRecord } from '../../test/support/on-failure';
import {
  emptyBucket,
  objectKeys,
  redriveDepsFor,
  registrySchemas,
  SAGA_TRACKER_V2_SCHEMA_ID,
  sagaTrackerV2Schema,
  sagaTrackerV2Type,
  snapshot,
} from '../../test/support/redrive';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy';
import { S3DeadLetterBucket } from '../adapters/s3-dead-letter-bucket';
import { TransientError } from '../errors';
import { parseRedriveOptions } from './options';
import { redrive } from './redrive';

const BUCKET = 'saga-dlq-test';

let db: TestDatabase;
let s3: LocalS3;
let proxy: TcpProxy;
/** A pool that reaches the database through the proxy: cutting the proxy is "the database went away". */
let viaProxy: pg.Pool;
let registry: FakeRegistry;

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([BUCKET]);
  const url = new URL(db.url);
  proxy = await startTcpProxy(url.hostname, Number(url.port));
  url.port = String(proxy.port);
  viaProxy = new pg.Pool({ connectionString: url.toString(), max: 4, connectionTimeoutMillis: 5_000 });
  viaProxy.on('error', () => undefined);
});
afterAll(async () => {
  await viaProxy.end();
  await proxy.close();
  await s3.close();
  await db.drop();
});
beforeEach(async () => {
  proxy.restore();
  proxy.onClientData(null);
  await truncateAll(db.pool);
  await emptyBucket(s3.client, BUCKET);
  registry = await startFakeRegistry();
});
afterEach(() => registry.close());

function deps(pool: pg.Pool = viaProxy) {
  return redriveDepsFor(pool, { schemas: registrySchemas(registry.url), s3, bucket: BUCKET });
}

function redriveS3(input: object = {}, pool: pg.Pool = viaProxy) {
  return redrive(parseRedriveOptions({ source: 's3', ...input }), deps(pool));
}

async function stepCounts(): Promise<Record<string, number>> {
  const { rows } = await db.pool.query<{ event_id: string; n: number }>(
    'SELECT event_id, count(*)::int AS n FROM saga_steps GROUP BY event_id',
  );
  return Object.fromEntries(rows.map((row) => [row.event_id, row.n]));
}

const sagaA = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-a' });
const sagaB = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-b' });

describe('S3 on-failure batches', () => {
  it('redrives a batch lost to a database outage so every event is stored exactly once', async () => {
    const batch = kafkaEvent(recordsFor([...sagaA, ...sagaB]));
    const consume = consumeHandlerFor(viaProxy);
    // The database goes away in the middle of the batch's transaction.
    proxy.onClientData((chunk) => {
      if (chunk.includes('INSERT INTO saga_steps')) proxy.cut();
    });

    await expect(consume(batch)).rejects.toBeInstanceOf(TransientError);
    proxy.onClientData(null);
    proxy.restore();
    expect(await stepCounts()).toEqual({});

    // The event source mapping runs out of retries and writes the batch to its S3 destination.
    const key = await putOnFailureRecord(s3.client, BUCKET, batch);
    const report = await redriveS3();

    expect(report).toEqual(
      expect.objectContaining({ requested: 14, successful: 14, failed: 0, incomplete: false }),
    );
    expect(report.results.every((result) => result.status === 'REPLAYED')).toBe(true);
    const counts = await stepCounts();
    expect(Object.keys(counts).sort()).toEqual([...sagaA, ...sagaB].map((event) => event.eventId).sort());
    expect(Object.values(counts).every((count) => count === 1)).toBe(true);
    expect(await objectKeys(s3.client, BUCKET)).toEqual([`redriven/${key}`]);
    const { rows } = await db.pool.query('SELECT status, attempts, moved_at FROM saga_dead_letter_batch');
    expect(rows).toEqual([expect.objectContaining({ status: 'REPLAYED', attempts: 1 })]);
    expect(rows[0].moved_at).not.toBeNull();

    const again = await redriveS3();
    expect(again.requested).toBe(0);
    const { rows: sagas } = await db.pool.query(
      'SELECT saga_id, current_status, step_count FROM saga_instance ORDER BY saga_id',
    );
    expect(sagas).toEqual([
      { saga_id: 'saga-a', current_status: 'COMPLETED', step_count: 7 },
      { saga_id: 'saga-b', current_status: 'COMPENSATED', step_count: 7 },
    ]);
  });

  it('leaves the batch in place while the database is down, and applies it once it is back', async () => {
    const batch = kafkaEvent(recordsFor(sagaA));
    const key = await putOnFailureRecord(s3.client, BUCKET, batch);
    proxy.cut();

    const down = await redriveS3();

    expect(down).toEqual(expect.objectContaining({ successful: 0, failed: 7, incomplete: true }));
    expect(down.results.every((result) => result.reason === 'TRANSIENT')).toBe(true);
    expect(await objectKeys(s3.client, BUCKET)).toEqual([key]);

    proxy.restore();
    const back = await redriveS3();
    expect(back).toEqual(expect.objectContaining({ successful: 7, failed: 0 }));
    expect(await objectKeys(s3.client, BUCKET)).toEqual([`redriven/${key}`]);
  });

  it('reports an unusable object, leaves it in place and goes on with the others', async () => {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'aws/lambda/x/c4ang.saga.tracker-0/a-garbage',
        Body: '{"no": 1}',
      }),
    );
    const tooBig = onFailureRecord(kafkaEvent(recordsFor(sagaB)), {
      condition: 'MaximumPayloadSizeExceeded',
      withoutPayload: true,
    });
    await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'aws/lambda/x/c4ang.saga.tracker-1/b-too-big',
        Body: JSON.stringify(tooBig),
      }),
    );
    const good = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(sagaA)));

    const report = await redriveS3();

    expect(report).toEqual(expect.objectContaining({ successful: 7, failed: 2, incomplete: false }));
    expect(report.results.filter((result) => result.status === 'FAILED')).toEqual([
      expect.objectContaining({
        id: `s3://${BUCKET}/aws/lambda/x/c4ang.saga.tracker-0/a-garbage`,
        reason: 'MALFORMED_ON_FAILURE_RECORD',
        message: expect.stringContaining('requestContext'),
      }),
      expect.objectContaining({ reason: 'PAYLOAD_MISSING', message: expect.stringContaining('offsets') }),
    ]);
    expect(await objectKeys(s3.client, BUCKET)).toEqual([
      'aws/lambda/x/c4ang.saga.tracker-0/a-garbage',
      'aws/lambda/x/c4ang.saga.tracker-1/b-too-big',
      `redriven/${good}`,
    ]);
    const { rows } = await db.pool.query(
      "SELECT object_key, status, attempts, condition FROM saga_dead_letter_batch WHERE status = 'PENDING' ORDER BY object_key",
    );
    expect(rows).toEqual([
      expect.objectContaining({ status: 'PENDING', attempts: 1, condition: null }),
      expect.objectContaining({ status: 'PENDING', attempts: 1, condition: 'MaximumPayloadSizeExceeded' }),
    ]);
  });

  it('moves the poison of a discarded batch into the dead-letter table and replays it once fixed', async () => {
    const refund = sagaEvents(PAYMENT_FAILURE_STEPS.slice(0, 1), {
      sagaId: 'saga-v2',
      sagaType: 'REFUND',
    })[0];
    const poison = kafkaRecord(
      encodeAvro(
        { ...(refund as ProducedEvent), channel: 'app' },
        SAGA_TRACKER_V2_SCHEMA_ID,
        sagaTrackerV2Type,
      ),
      { partition: 2, offset: 500, key: 'saga-v2' },
    );
    const key = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent([...recordsFor(sagaA), poison]));

    const first = await redriveS3();

    expect(first).toEqual(expect.objectContaining({ successful: 7, failed: 1 }));
    expect(first.results.find((result) => result.status === 'DEAD_LETTERED')).toEqual(
      expect.objectContaining({ reason: 'UNKNOWN_SCHEMA_ID', record: 'c4ang.saga.tracker-2@500' }),
    );
    expect(await objectKeys(s3.client, BUCKET)).toEqual([`redriven/${key}`]);
    const { rows } = await db.pool.query('SELECT reason, source, status FROM saga_dead_letter');
    expect(rows).toEqual([{ reason: 'UNKNOWN_SCHEMA_ID', source: 'redrive-s3', status: 'PENDING' }]);

    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
    const fixed = await redrive(parseRedriveOptions({ source: 'table' }), deps());
    expect(fixed.results).toEqual([
      expect.objectContaining({ status: 'REPLAYED', eventId: refund?.eventId }),
    ]);
  });

  it('counts a batch committed before its invocation failed as already stored, and resolves its table dead letters', async () => {
    const refund = sagaEvents(PAYMENT_FAILURE_STEPS.slice(0, 1), {
      sagaId: 'saga-v2',
      sagaType: 'REFUND',
    })[0];
    const poison = kafkaRecord(
      encodeAvro(
        { ...(refund as ProducedEvent), channel: 'app' },
        SAGA_TRACKER_V2_SCHEMA_ID,
        sagaTrackerV2Type,
      ),
      { partition: 2, offset: 500 },
    );
    const batch = kafkaEvent([...recordsFor(sagaA), poison]);
    // The function committed the batch (the poison as a dead letter), then timed out before answering.
    await consumeHandlerFor(db.pool, registrySchemas(registry.url))(batch);
    await putOnFailureRecord(s3.client, BUCKET, batch);
    registry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());

    const report = await redriveS3();

    expect(report.results.map((result) => result.status)).toEqual([
      ...sagaA.map(() => 'ALREADY_STORED'),
      'REPLAYED',
    ]);
    const { rows } = await db.pool.query(
      'SELECT status, resolved_at IS NOT NULL AS resolved FROM saga_dead_letter',
    );
    expect(rows).toEqual([{ status: 'REPLAYED', resolved: true }]);
    expect(Object.values(await stepCounts())).toEqual(Array(8).fill(1));
  });

  it('skips an object another redrive is applying, and applies it once that run lets go', async () => {
    const key = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(sagaA)));
    const etag = (await new S3DeadLetterBucket(s3.client, BUCKET).get(key))?.etag;
    await db.pool.query('INSERT INTO saga_dead_letter_batch (bucket, object_key, etag) VALUES ($1, $2, $3)', [
      BUCKET,
      key,
      etag,
    ]);
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT * FROM saga_dead_letter_batch FOR UPDATE');

      const busy = await redriveS3();

      expect(busy).toEqual(expect.objectContaining({ successful: 0, skipped: 7 }));
      expect(busy.results.every((result) => result.reason === 'LOCKED')).toBe(true);
      expect(await objectKeys(s3.client, BUCKET)).toEqual([key]);
      await other.query('ROLLBACK');
    } finally {
      other.release();
    }
    expect((await redriveS3()).successful).toBe(7);
  });

  it('finishes the move of a batch applied by a run that could not move it', async () => {
    const key = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(sagaA)));
    const bucket = new S3DeadLetterBucket(s3.client, BUCKET);
    const report = await redrive(parseRedriveOptions({ source: 's3' }), {
      ...deps(),
      bucket: {
        name: bucket.name,
        list: (options) => bucket.list(options),
        get: (objectKey) => bucket.get(objectKey),
        moveToRedriven: () => Promise.reject(new Error('S3 is unreachable')),
      },
    });
    expect(report.successful).toBe(7);
    expect(report.errors[0]).toContain('could not be moved');
    expect(await objectKeys(s3.client, BUCKET)).toEqual([key]);

    const next = await redriveS3();

    expect(next).toEqual(expect.objectContaining({ successful: 0, skipped: 7 }));
    expect(next.results.every((result) => result.reason === 'ALREADY_REPLAYED')).toBe(true);
    expect(await objectKeys(s3.client, BUCKET)).toEqual([`redriven/${key}`]);
    expect(Object.values(await stepCounts())).toEqual(Array(7).fill(1));
  });

  it('reports what a dry run would do and leaves the bucket and the database as they were', async () => {
    const key = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(sagaA)));
    const before = await snapshot(db.pool);

    const report = await redriveS3({ dryRun: true });

    expect(report).toEqual(expect.objectContaining({ dryRun: true, successful: 7 }));
    expect(await snapshot(db.pool)).toEqual(before);
    expect(await objectKeys(s3.client, BUCKET)).toEqual([key]);
  });

  it('selects objects by key, by the events they hold, by age and up to the limit', async () => {
    const keyA = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(sagaA)));
    const keyB = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(sagaB)));

    expect((await redriveS3({ keys: [keyB], dryRun: true })).requested).toBe(7);
    expect((await redriveS3({ eventIds: [sagaB[3]?.eventId], dryRun: true })).results[0]?.id).toContain(keyB);
    expect((await redriveS3({ since: new Date(Date.now() + 60_000).toISOString() })).requested).toBe(0);
    const limited = await redriveS3({ limit: 1 });
    expect(limited.requested).toBe(7);
    expect((await objectKeys(s3.client, BUCKET)).filter((key) => !key.startsWith('redriven/'))).toHaveLength(
      1,
    );
    expect([keyA, keyB]).toContain(limited.results[0]?.id.split('#')[0]?.replace(`s3://${BUCKET}/`, ''));
  });
});
