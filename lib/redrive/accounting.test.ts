import fc from 'fast-check';
import pg from 'pg';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../../test/support/fake-registry';
import {
  encodeAvro,
  kafkaEvent,
  kafkaRecord,
  type ProducedEvent,
  partitionOf,
} from '../../test/support/kafka';
import { putOnFailureRecord } from '../../test/support/on-failure';
import {
  emptyBucket,
  objectKeys,
  redriveDepsFor,
  registrySchemas,
  SAGA_TRACKER_V2_SCHEMA_ID,
  sagaTrackerV2Schema,
  sagaTrackerV2Type,
} from '../../test/support/redrive';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy';
import { S3DeadLetterBucket } from '../adapters/s3-dead-letter-bucket';
import type { KafkaRecord } from '../ingest/kafka-event';
import { parseOnFailureRecord } from './on-failure-record';
import { parseRedriveOptions } from './options';
import { redrive } from './redrive';
import { refKey } from './report';

const BUCKET = 'saga-dlq-accounting';

let db: TestDatabase;
let s3: LocalS3;
let proxy: TcpProxy;
let viaProxy: pg.Pool;
let registry: FakeRegistry | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([BUCKET]);
  const url = new URL(db.url);
  proxy = await startTcpProxy(url.hostname, Number(url.port));
  url.port = String(proxy.port);
  viaProxy = new pg.Pool({ connectionString: url.toString(), max: 3, connectionTimeoutMillis: 5_000 });
  viaProxy.on('error', () => undefined);
});
afterAll(async () => {
  await registry?.close();
  await viaProxy.end();
  await proxy.close();
  await s3.close();
  await db.drop();
});

/** How a record's value is written: decodable, written with a schema registered only later, or invalid for good. */
type Encoding = 'v1' | 'v2' | 'invalid';
/** What goes wrong while an action runs. */
type Fault = 'none' | 'databaseDown' | 'databaseCutMidway' | 'registryDown';

type Action =
  | { kind: 'deliver'; size: number; fault: Fault | 'committedThenFailed'; cutAt: number }
  | { kind: 'redeliver'; which: number }
  | { kind: 'registerSchema' }
  | { kind: 'redrive'; source: 'table' | 's3' | 'both'; fault: Fault; cutAt: number; batchSize: number };

const fault = fc.constantFrom<Fault>('none', 'databaseDown', 'databaseCutMidway', 'registryDown');
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      size: fc.integer({ min: 1, max: 5 }),
      fault: fc.constantFrom<Fault | 'committedThenFailed'>(
        'none',
        'databaseDown',
        'databaseCutMidway',
        'registryDown',
        'committedThenFailed',
      ),
      cutAt: fc.integer({ min: 1, max: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeliver' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'registerSchema' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('redrive' as const),
      source: fc.constantFrom('table' as const, 's3' as const, 'both' as const),
      fault,
      cutAt: fc.integer({ min: 1, max: 12 }),
      batchSize: fc.integer({ min: 1, max: 4 }),
    }),
  },
);

const scenario = fc.record({
  encodings: fc.array(fc.constantFrom<Encoding>('v1', 'v1', 'v1', 'v2', 'invalid'), {
    minLength: 6,
    maxLength: 14,
  }),
  actions: fc.array(action, { minLength: 2, maxLength: 10 }),
});

/** Events of three sagas interleaved, as several services publish them. */
const EVENTS: ProducedEvent[] = (() => {
  const sagas = [
    sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'acc-1' }),
    sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'acc-2' }),
    sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'acc-3', sagaType: 'PAYMENT_COMPLETION' }),
  ];
  return sagas[0]?.flatMap((_, index) => sagas.map((saga) => saga[index] as ProducedEvent)) ?? [];
})();

function encode(event: ProducedEvent, encoding: Encoding): Buffer {
  if (encoding === 'v2')
    return encodeAvro({ ...event, channel: 'app' }, SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Type);
  if (encoding === 'invalid') return encodeAvro({ ...event, metadata: 'not json' });
  return encodeAvro(event);
}

async function withFault<T>(chosen: Fault, cutAt: number, work: () => Promise<T>): Promise<T> {
  let chunks = 0;
  if (chosen === 'databaseDown') proxy.cut();
  if (chosen === 'databaseCutMidway') {
    proxy.onClientData(() => {
      chunks++;
      if (chunks === cutAt) proxy.cut();
    });
  }
  if (chosen === 'registryDown') registry?.failWith(503);
  try {
    return await work();
  } finally {
    proxy.onClientData(null);
    proxy.restore();
    registry?.failWith(null);
  }
}

interface Ledger {
  /** Every event that reached the tracker at least once. */
  readonly sent: Set<string>;
  /** Which event each Kafka record carries. */
  readonly eventOfRecord: Map<string, string>;
  readonly invalid: Set<string>;
}

/** Events that wait as dead letters: pending table rows, and the records of batches still in the bucket. */
async function pendingEvents(ledger: Ledger): Promise<{ rows: number; events: Set<string> }> {
  const { rows } = await db.pool.query<{ topic: string; kafka_partition: number; kafka_offset: string }>(
    "SELECT topic, kafka_partition, kafka_offset::text FROM saga_dead_letter WHERE status = 'PENDING'",
  );
  const events = new Set<string>();
  for (const row of rows) {
    const ref = { topic: row.topic, partition: row.kafka_partition, offset: Number(row.kafka_offset) };
    const eventId = ledger.eventOfRecord.get(refKey(ref));
    if (eventId === undefined) throw new Error(`a dead letter for a record never sent: ${refKey(ref)}`);
    events.add(eventId);
  }
  const bucket = new S3DeadLetterBucket(s3.client, BUCKET);
  for (const object of await bucket.list({})) {
    const read = await bucket.get(object.key);
    const parsed = parseOnFailureRecord(read?.body ?? '');
    if (!parsed.ok) throw new Error(`unreadable object ${object.key}`);
    for (const record of parsed.records) events.add(ledger.eventOfRecord.get(refKey(record)) ?? '?');
  }
  return { rows: rows.length, events };
}

async function storedEvents(): Promise<{ rows: number; events: Set<string> }> {
  const { rows } = await db.pool.query<{ event_id: string }>('SELECT event_id FROM saga_steps');
  return { rows: rows.length, events: new Set(rows.map((row) => row.event_id)) };
}

async function expectNothingLost(ledger: Ledger): Promise<void> {
  const stored = await storedEvents();
  const pending = await pendingEvents(ledger);
  const lost = [...ledger.sent].filter(
    (eventId) => !stored.events.has(eventId) && !pending.events.has(eventId),
  );
  expect(lost).toEqual([]);
}

describe('accounting over a random schedule of faults', () => {
  it('keeps every event sent either stored once or waiting as a dead letter, never both', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ encodings, actions }) => {
        await truncateAll(db.pool);
        await emptyBucket(s3.client, BUCKET);
        await registry?.close();
        const fakeRegistry = await startFakeRegistry();
        registry = fakeRegistry;
        const ledger: Ledger = { sent: new Set(), eventOfRecord: new Map(), invalid: new Set() };
        const queue = EVENTS.slice(0, encodings.length).map((event, index) => ({
          event,
          encoding: encodings[index] as Encoding,
        }));
        const nextOffset = new Map<number, number>();
        const delivered: ReturnType<typeof kafkaEvent>[] = [];
        const consume = () => consumeHandlerFor(viaProxy, registrySchemas(fakeRegistry.url));

        for (const step of actions) {
          if (step.kind === 'deliver') {
            const items = queue.splice(0, step.size);
            if (items.length === 0) continue;
            const records: KafkaRecord[] = items.map(({ event, encoding }) => {
              const partition = partitionOf(event.sagaId, 3);
              const offset = nextOffset.get(partition) ?? 0;
              nextOffset.set(partition, offset + 1);
              const record = kafkaRecord(encode(event, encoding), { partition, offset, key: event.sagaId });
              ledger.eventOfRecord.set(refKey(record), event.eventId);
              ledger.sent.add(event.eventId);
              if (encoding === 'invalid') ledger.invalid.add(event.eventId);
              return record;
            });
            const batch = kafkaEvent(records);
            delivered.push(batch);
            const failed = await withFault(
              step.fault === 'committedThenFailed' ? 'none' : step.fault,
              step.cutAt,
              () =>
                consume()(batch).then(
                  () => false,
                  () => true,
                ),
            );
            // Retries exhausted (or the function timed out after committing): the mapping writes the batch to S3.
            if (failed || step.fault === 'committedThenFailed')
              await putOnFailureRecord(s3.client, BUCKET, batch);
          } else if (step.kind === 'redeliver') {
            const batch = delivered[step.which % Math.max(delivered.length, 1)];
            if (batch) await consume()(batch);
          } else if (step.kind === 'registerSchema') {
            fakeRegistry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
          } else {
            await withFault(step.fault, step.cutAt, () =>
              redrive(
                parseRedriveOptions({ source: step.source }),
                redriveDepsFor(viaProxy, {
                  schemas: registrySchemas(fakeRegistry.url),
                  s3,
                  bucket: BUCKET,
                  batchSize: step.batchSize,
                }),
              ),
            );
          }
          await expectNothingLost(ledger);
        }

        // The outage is over and the schema is known: one redrive settles everything that can succeed.
        fakeRegistry.register(SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema());
        const settle = await redrive(
          parseRedriveOptions({ limit: 10_000 }),
          redriveDepsFor(viaProxy, { schemas: registrySchemas(fakeRegistry.url), s3, bucket: BUCKET }),
        );
        expect(settle.errors).toEqual([]);

        const stored = await storedEvents();
        const pending = await pendingEvents(ledger);
        expect(stored.rows).toBe(stored.events.size);
        expect(stored.rows + pending.rows).toBe(ledger.sent.size);
        expect([...stored.events].filter((eventId) => pending.events.has(eventId))).toEqual([]);
        expect([...stored.events, ...pending.events].sort()).toEqual([...ledger.sent].sort());
        expect([...pending.events].sort()).toEqual([...ledger.invalid].sort());
        expect((await objectKeys(s3.client, BUCKET)).every((key) => key.startsWith('redriven/'))).toBe(true);
      }),
      { numRuns: 15, endOnFailure: true },
    );
  }, 300_000);
});
