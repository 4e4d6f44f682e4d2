import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PgIngestStore } from '../../lib/adapters/pg/ingest-store';
import { bundledSchemas, consumeHandlerFor, lambdaContext } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { encodeAvro, kafkaEvent, kafkaRecord, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { count, deadLetters } from '../../test/support/state';
import { createConsumeHandler, InvalidKafkaEventError } from './handler';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
beforeEach(() => truncateAll(db.pool));

async function sagaRow(sagaId: string) {
  const { rows } = await db.pool.query('SELECT * FROM saga_instance WHERE saga_id = $1', [sagaId]);
  return rows[0];
}

describe('consume handler', () => {
  it('stores a full ORDER_CREATION saga with its latest step as the saga state', async () => {
    const consume = consumeHandlerFor(db.pool);
    const events = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-1', traceId: 'trace-1' });
    const result = await consume(kafkaEvent(recordsFor(events, { producer: () => 'order' })));

    expect(result).toEqual(
      expect.objectContaining({
        received: 7,
        inserted: 7,
        duplicates: 0,
        deadLettered: 0,
        batchItemFailures: [],
      }),
    );
    const saga = await sagaRow('saga-1');
    expect(saga).toEqual(
      expect.objectContaining({
        saga_type: 'ORDER_CREATION',
        order_id: 'order-saga-1',
        current_status: 'COMPLETED',
        last_step: 'ORDER_CONFIRMED',
        last_trace_id: 'trace-1',
        step_count: 7,
        failed_at: null,
        compensated_at: null,
      }),
    );
    expect(saga.started_at.getTime()).toBe(events[0]?.recordedAt);
    expect(saga.updated_at.getTime()).toBe(events[6]?.recordedAt);
    const steps = await db.pool.query(
      'SELECT step, status, producer_service, trace_id, metadata FROM saga_steps ORDER BY recorded_at',
    );
    expect(steps.rows.map((row) => row.step)).toEqual(ORDER_CREATION_STEPS.map((spec) => spec.step));
    expect(steps.rows[0]).toEqual(
      expect.objectContaining({
        step: 'ORDER_CREATED',
        status: 'STARTED',
        producer_service: 'order',
        trace_id: 'trace-1',
      }),
    );
    expect(steps.rows[0].metadata).toEqual(
      expect.objectContaining({ traceId: 'trace-1', orderAmount: 42_000 }),
    );
  });

  it('records a failed-and-compensated saga with its failure and compensation times', async () => {
    const consume = consumeHandlerFor(db.pool);
    const events = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-2' });
    await consume(kafkaEvent(recordsFor(events)));

    const saga = await sagaRow('saga-2');
    expect(saga).toEqual(
      expect.objectContaining({
        current_status: 'COMPENSATED',
        last_step: 'COMPENSATION_ORDER',
        step_count: 7,
      }),
    );
    expect(saga.failed_at.getTime()).toBe(events[4]?.recordedAt);
    expect(saga.compensated_at.getTime()).toBe(events[5]?.recordedAt);
  });

  it('takes the producing service from the header, else from metadata.producerService', async () => {
    const consume = consumeHandlerFor(db.pool);
    const [first, second] = sagaEvents(ORDER_CREATION_STEPS.slice(0, 2), { sagaId: 'saga-3' });
    if (!first || !second) throw new Error('fixture');
    await consume(
      kafkaEvent([
        kafkaRecord(encodeAvro(first), { offset: 0, headers: { 'producer-service': 'order-service' } }),
        kafkaRecord(encodeAvro(second), { offset: 1 }),
      ]),
    );
    const { rows } = await db.pool.query('SELECT producer_service FROM saga_steps ORDER BY recorded_at');
    expect(rows.map((row) => row.producer_service)).toEqual(['order-service', 'product']);
  });

  it('ingests several partitions in one batch', async () => {
    const consume = consumeHandlerFor(db.pool);
    const events = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((id) =>
      sagaEvents(ORDER_CREATION_STEPS, { sagaId: `saga-${id}` }),
    );
    const records = recordsFor(events, { partitions: 3 });
    const event = kafkaEvent(records);
    expect(Object.keys(event.records).length).toBeGreaterThan(1);

    const result = await consume(event);

    expect(result.inserted).toBe(42);
    expect(await count(db.pool, 'saga_instance')).toBe(6);
    const { rows } = await db.pool.query(`SELECT DISTINCT current_status, step_count FROM saga_instance`);
    expect(rows).toEqual([{ current_status: 'COMPLETED', step_count: 7 }]);
  });

  it('ignores and counts duplicates within a batch and across batches', async () => {
    const consume = consumeHandlerFor(db.pool);
    const events = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-dup' });
    const first = await consume(kafkaEvent(recordsFor([...events, ...events.slice(0, 2)])));
    expect(first).toEqual(
      expect.objectContaining({ received: 9, inserted: 7, duplicates: 2, deadLettered: 0 }),
    );

    const again = await consume(kafkaEvent(recordsFor(events, { firstOffset: 100 })));
    expect(again).toEqual(
      expect.objectContaining({ received: 7, inserted: 0, duplicates: 7, deadLettered: 0 }),
    );
    expect((await sagaRow('saga-dup')).step_count).toBe(7);
    expect(await count(db.pool, 'saga_dead_letter')).toBe(0);
  });

  it('keeps an eventId conflict across batches as a dead letter and does not apply it', async () => {
    const consume = consumeHandlerFor(db.pool);
    const events = sagaEvents(ORDER_CREATION_STEPS.slice(0, 2), { sagaId: 'saga-conflict' });
    await consume(kafkaEvent(recordsFor(events)));
    const second = events[1];
    if (!second) throw new Error('fixture');
    const altered = { ...second, status: 'FAILED', recordedAt: second.recordedAt + 60_000 };

    const result = await consume(
      kafkaEvent([kafkaRecord(encodeAvro(altered), { offset: 50, key: 'saga-conflict' })]),
    );

    expect(result).toEqual(expect.objectContaining({ inserted: 0, duplicates: 0, deadLettered: 1 }));
    expect(await sagaRow('saga-conflict')).toEqual(
      expect.objectContaining({ current_status: 'IN_PROGRESS', step_count: 2 }),
    );
    const [letter] = await deadLetters(db.pool);
    expect(letter).toEqual(
      expect.objectContaining({
        reason: 'EVENT_ID_CONFLICT',
        event_id: second.eventId,
        kafka_offset: 50,
        status: 'PENDING',
      }),
    );
    expect(letter?.record_value).toEqual(encodeAvro(altered));
    expect(letter?.record_key).toEqual(Buffer.from('saga-conflict'));
  });

  it('applies the first occurrence of a conflicting eventId within a batch in partition/offset order', async () => {
    const consume = consumeHandlerFor(db.pool);
    const [event] = sagaEvents(ORDER_CREATION_STEPS.slice(0, 1), { sagaId: 'saga-first' });
    if (!event) throw new Error('fixture');
    const later = kafkaRecord(encodeAvro({ ...event, step: 'SOMETHING_ELSE' }), { offset: 9 });
    const earlier = kafkaRecord(encodeAvro(event), { offset: 3 });

    await consume(kafkaEvent([later, earlier]));

    expect((await sagaRow('saga-first')).last_step).toBe('ORDER_CREATED');
    expect(await deadLetters(db.pool)).toEqual([
      expect.objectContaining({ kafka_offset: 9, reason: 'EVENT_ID_CONFLICT' }),
    ]);
  });

  it('stores a redelivered dead-letter record once', async () => {
    const consume = consumeHandlerFor(db.pool);
    const poison = kafkaRecord(Buffer.from([7, 7, 7]), { offset: 11 });
    await consume(kafkaEvent([poison]));
    const again = await consume(kafkaEvent([poison]));

    expect(again.deadLettered).toBe(1);
    expect(await count(db.pool, 'saga_dead_letter')).toBe(1);
  });

  it('accepts plain JSON values with metadata as a string or as an object', async () => {
    const consume = consumeHandlerFor(db.pool);
    const [a, b] = sagaEvents(ORDER_CREATION_STEPS.slice(0, 2), {
      sagaId: 'saga-json',
      traceId: 'trace-json',
    });
    if (!a || !b) throw new Error('fixture');
    const asObject = { ...b, metadata: JSON.parse(b.metadata ?? '{}'), unknownField: 'ignored' };

    const result = await consume(
      kafkaEvent([
        kafkaRecord(Buffer.from(JSON.stringify(a)), { offset: 0 }),
        kafkaRecord(Buffer.from(`  ${JSON.stringify(asObject)}`), { offset: 1 }),
      ]),
    );

    expect(result.inserted).toBe(2);
    expect(await sagaRow('saga-json')).toEqual(
      expect.objectContaining({ step_count: 2, last_trace_id: 'trace-json' }),
    );
  });

  it('decodes values the mapping delivered with valueSchemaMetadata (Avro without the Confluent header, or JSON)', async () => {
    const consume = consumeHandlerFor(db.pool);
    const [a, b] = sagaEvents(ORDER_CREATION_STEPS.slice(0, 2), { sagaId: 'saga-esm' });
    if (!a || !b) throw new Error('fixture');
    const avroRecord = {
      ...kafkaRecord(encodeAvro(a).subarray(5), { offset: 0 }),
      valueSchemaMetadata: { dataFormat: 'AVRO', schemaId: '1' },
    };
    const jsonRecord = {
      ...kafkaRecord(Buffer.from(JSON.stringify(b)), { offset: 1 }),
      valueSchemaMetadata: { dataFormat: 'JSON', schemaId: '1' },
    };

    const result = await consume(kafkaEvent([avroRecord, jsonRecord]));

    expect(result.inserted).toBe(2);
  });

  it('keeps timestamps exact to the millisecond', async () => {
    const consume = consumeHandlerFor(db.pool);
    const [event] = sagaEvents(ORDER_CREATION_STEPS.slice(0, 1), {
      sagaId: 'saga-ms',
      start: 1_764_064_800_123,
    });
    if (!event) throw new Error('fixture');
    await consume(
      kafkaEvent([kafkaRecord(encodeAvro({ ...event, eventTimestamp: 1_764_064_800_999 }), { offset: 0 })]),
    );
    const { rows } = await db.pool.query(
      `SELECT (extract(epoch FROM recorded_at) * 1000)::bigint AS recorded, (extract(epoch FROM event_timestamp) * 1000)::bigint AS created
       FROM saga_steps`,
    );
    expect(rows[0]).toEqual({ recorded: 1_764_064_800_123, created: 1_764_064_800_999 });
  });

  it('fails the invocation when the event is not an event source mapping event', async () => {
    const consume = consumeHandlerFor(db.pool);
    await expect(consume({ records: 'nope' })).rejects.toThrow(InvalidKafkaEventError);
    await expect(consume({ eventSource: 'aws:sqs', records: {} })).rejects.toThrow(/eventSource/);
  });

  it('returns a zero summary for an empty batch', async () => {
    const consume = consumeHandlerFor(db.pool);
    expect(await consume(kafkaEvent([]))).toEqual(expect.objectContaining({ received: 0, inserted: 0 }));
  });

  it('logs the batch summary and records the same counts as metrics', async () => {
    const logger = new Logger({ serviceName: 'consume-test', logLevel: 'SILENT' });
    const metrics = new Metrics({ namespace: 'SagaTrackerTest', serviceName: 'consume-test' });
    const info = jest.spyOn(logger, 'info');
    const addMetric = jest.spyOn(metrics, 'addMetric');
    const handler = createConsumeHandler({
      logger,
      metrics,
      ingest: { schemas: bundledSchemas(), store: new PgIngestStore(db.pool) },
    });
    const events = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-metrics' });
    const records = [...recordsFor(events), kafkaRecord(Buffer.from([9]), { offset: 999 })];

    await handler(kafkaEvent(records), lambdaContext());

    expect(info).toHaveBeenCalledWith(
      'batch ingested',
      expect.objectContaining({ received: 8, inserted: 7, duplicates: 0, deadLettered: 1 }),
    );
    const recorded = Object.fromEntries(addMetric.mock.calls.map(([name, , value]) => [name, value]));
    expect(recorded).toEqual(
      expect.objectContaining({
        EventsReceived: 8,
        EventsInserted: 7,
        EventsDeadLettered: 1,
        SagasFailed: 1,
        SagasCompensated: 1,
      }),
    );
  });
});
