import avro from 'avsc';
import { SchemaRegistryClient } from '../../lib/adapters/schema-registry';
import { sagaTrackerSchema } from '../../schemas';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../../test/support/fake-registry';
import {
  confluentFrame,
  encodeAvro,
  kafkaEvent,
  kafkaRecord,
  type ProducedEvent,
} from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, sagaEvents } from '../../test/support/sagas';
import { count, deadLetters } from '../../test/support/state';

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

function registryClient() {
  return new SchemaRegistryClient({ url: registry.url, timeoutMs: 2_000, notFoundTtlMs: 0 });
}

const good = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-good' });

function goodEvent(index: number): ProducedEvent {
  const event = good[index];
  if (!event) throw new Error(`no fixture event ${index}`);
  return event;
}

/** A writer schema from a newer producer: an extra field and a new saga type symbol. */
function newerProducerSchema() {
  const schema = structuredClone(sagaTrackerSchema()) as { fields: Array<Record<string, unknown>> };
  const sagaType = schema.fields.find((field) => field.name === 'sagaType');
  if (!sagaType) throw new Error('schema without sagaType');
  sagaType.type = {
    type: 'enum',
    name: 'SagaType',
    symbols: ['ORDER_CREATION', 'PAYMENT_COMPLETION', 'REFUND'],
  };
  schema.fields.push({ name: 'tenantId', type: ['null', 'string'], default: null });
  return schema;
}

describe('consume handler with poison records', () => {
  it('stores the good records of a batch and dead-letters each kind of poison with its raw bytes', async () => {
    const consume = consumeHandlerFor(db.pool, registryClient());
    const poisons = {
      MISSING_VALUE: null,
      INVALID_MAGIC_BYTE: Buffer.concat([Buffer.from([1]), encodeAvro(goodEvent(0)).subarray(1)]),
      MALFORMED_AVRO: encodeAvro(goodEvent(1)).subarray(0, 20),
      UNKNOWN_SCHEMA_ID: confluentFrame(4242, Buffer.from([2, 0x61])),
      VALIDATION_FAILED: encodeAvro({ ...goodEvent(2), eventId: 'bad-metadata', metadata: '[1,2,3]' }),
      MALFORMED_JSON: Buffer.from('{"eventId": "x", '),
    } as const;
    const poisonRecords = Object.values(poisons).map((value, index) =>
      kafkaRecord(value, {
        partition: 1,
        offset: 100 + index,
        key: 'k',
        headers: { 'producer-service': 'x' },
      }),
    );
    const goodRecords = good.map((event, index) =>
      kafkaRecord(encodeAvro(event), { partition: 0, offset: index }),
    );

    const result = await consume(kafkaEvent([...goodRecords, ...poisonRecords]));

    expect(result).toEqual(expect.objectContaining({ received: 13, inserted: 7, deadLettered: 6 }));
    expect(await count(db.pool, 'saga_steps')).toBe(7);
    const letters = await deadLetters(db.pool);
    expect(letters.map((letter) => letter.reason)).toEqual(Object.keys(poisons));
    for (const [index, letter] of letters.entries()) {
      const raw = Object.values(poisons)[index] ?? null;
      expect(letter.record_value).toEqual(raw);
      expect(letter.record_key).toEqual(Buffer.from('k'));
      expect(letter.headers).toEqual([
        { key: 'producer-service', value: Buffer.from('x').toString('base64') },
      ]);
      expect(letter.status).toBe('PENDING');
    }
    expect(letters.find((letter) => letter.reason === 'VALIDATION_FAILED')).toEqual(
      expect.objectContaining({
        event_id: 'bad-metadata',
        reason_message: expect.stringContaining('metadata'),
      }),
    );
    expect(letters.find((letter) => letter.reason === 'UNKNOWN_SCHEMA_ID')?.reason_message).toContain('4242');
  });

  it.each([
    ['an eventId longer than its column', { eventId: 'e'.repeat(101) }, 'eventId'],
    ['a NUL character in a step name', { step: 'STEP\u0000X' }, 'step'],
    ['a status outside the SagaStatus enum (JSON)', { status: 'PAUSED' }, 'status'],
    ['metadata that is not JSON', { metadata: '{not json' }, 'metadata'],
    ['metadata holding a NUL character', { metadata: '{"note":"a\\u0000b"}' }, 'metadata'],
    ['a recordedAt before 2000', { recordedAt: 5 }, 'recordedAt'],
    ['a recordedAt years in the future', { recordedAt: Date.UTC(2200, 0, 1) }, 'recordedAt'],
  ])('dead-letters %s as VALIDATION_FAILED naming the field', async (_name, change, field) => {
    const consume = consumeHandlerFor(db.pool, registryClient());
    const value = Buffer.from(JSON.stringify({ ...goodEvent(0), ...change }));

    const result = await consume(kafkaEvent([kafkaRecord(value, { offset: 1 })]));

    expect(result.deadLettered).toBe(1);
    const [letter] = await deadLetters(db.pool);
    expect(letter?.reason).toBe('VALIDATION_FAILED');
    expect(letter?.reason_message).toContain(field);
  });

  it('decodes with the writer schema: a newer producer schema adds a field and a new sagaType symbol', async () => {
    registry.register(7, newerProducerSchema());
    const writer = avro.Type.forSchema(newerProducerSchema() as avro.Schema);
    const consume = consumeHandlerFor(db.pool, registryClient());
    const refund = {
      ...goodEvent(0),
      eventId: 'refund-1',
      sagaId: 'saga-refund',
      sagaType: 'REFUND',
      tenantId: 'kr',
    };

    const result = await consume(kafkaEvent([kafkaRecord(encodeAvro(refund, 7, writer), { offset: 0 })]));

    expect(result.inserted).toBe(1);
    const { rows } = await db.pool.query(`SELECT saga_type FROM saga_instance WHERE saga_id = 'saga-refund'`);
    expect(rows).toEqual([{ saga_type: 'REFUND' }]);
  });

  it('asks the registry once per schema id and remembers the answer', async () => {
    const consume = consumeHandlerFor(db.pool, registryClient());
    const before = registry.requests.length;
    await consume(
      kafkaEvent(good.slice(0, 3).map((event, index) => kafkaRecord(encodeAvro(event), { offset: index }))),
    );
    await consume(
      kafkaEvent(good.slice(3).map((event, index) => kafkaRecord(encodeAvro(event), { offset: 10 + index }))),
    );
    expect(registry.requests.slice(before)).toEqual(['/schemas/ids/1']);
  });

  it('fails the whole invocation without committing anything when the registry is unreachable', async () => {
    const consume = consumeHandlerFor(db.pool, registryClient());
    registry.failWith(503);
    try {
      await expect(
        consume(kafkaEvent([kafkaRecord(encodeAvro(goodEvent(0)), { offset: 0 })])),
      ).rejects.toThrow(/schema registry answered 503/);
    } finally {
      registry.failWith(null);
    }
    expect(await count(db.pool, 'saga_steps')).toBe(0);
    expect(await count(db.pool, 'saga_dead_letter')).toBe(0);
  });
});
