import { Logger } from '@aws-lambda-powertools/logger';
import { PgIngestStore } from '../../lib/adapters/pg/ingest-store';
import { bundledSchemas, consumeHandlerFor, lambdaContext } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { captureEmf } from '../../test/support/emf';
import { encodeAvro, kafkaEvent, kafkaRecord, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { memoryTelemetry } from '../../test/support/telemetry';
import { createConsumeHandler } from './handler';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
beforeEach(() => truncateAll(db.pool));

describe('consume handler metrics', () => {
  it('counts events by step and status, and a failed-then-compensated saga once each', async () => {
    const metrics = memoryTelemetry();
    const consume = consumeHandlerFor(db.pool, undefined, metrics.telemetry);
    const events = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-pay-1', gap: 2_000 });

    await consume(kafkaEvent(recordsFor(events)));

    expect(metrics.value('saga_events_received_total')).toBe(7);
    expect(metrics.value('saga_events_processed_total')).toBe(7);
    expect(metrics.value('saga_events_processed_total', { step: 'PAYMENT_FAILED', status: 'FAILED' })).toBe(
      1,
    );
    expect(metrics.value('saga_events_processed_total', { status: 'COMPENSATED' })).toBe(2);
    expect(metrics.value('saga_failed_total')).toBe(1);
    expect(metrics.value('saga_compensated_total')).toBe(1);
    // First FAILED step (index 4) to first COMPENSATED step (index 5): one 2-second gap.
    expect(metrics.value('saga_compensation_duration_seconds_count')).toBe(1);
    expect(metrics.value('saga_compensation_duration_seconds_sum')).toBe(2);
    expect(metrics.value('saga_tracker_db_query_seconds_count', { query: 'ingest_batch' })).toBe(1);
    expect(metrics.value('saga_tracker_invocations_total', { outcome: 'success' })).toBe(1);
  });

  it('never counts a transition again when the batch is redelivered', async () => {
    const metrics = memoryTelemetry();
    const consume = consumeHandlerFor(db.pool, undefined, metrics.telemetry);
    const batch = kafkaEvent(recordsFor(sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-pay-2' })));

    await consume(batch);
    await consume(batch);

    expect(metrics.value('saga_events_received_total')).toBe(14);
    expect(metrics.value('saga_events_processed_total')).toBe(7);
    expect(metrics.value('saga_events_duplicate_total')).toBe(7);
    expect(metrics.value('saga_failed_total')).toBe(1);
    expect(metrics.value('saga_compensated_total')).toBe(1);
    expect(metrics.value('saga_compensation_duration_seconds_count')).toBe(1);
  });

  it('counts a compensation that arrives before its failure once, with the duration once both are known', async () => {
    const metrics = memoryTelemetry();
    const consume = consumeHandlerFor(db.pool, undefined, metrics.telemetry);
    const events = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-pay-3' });
    const compensations = events.slice(5);
    const rest = events.slice(0, 5);

    await consume(kafkaEvent(recordsFor(compensations)));
    expect(metrics.value('saga_compensated_total')).toBe(1);
    expect(metrics.value('saga_failed_total')).toBe(0);
    expect(metrics.value('saga_compensation_duration_seconds_count')).toBe(0);

    await consume(kafkaEvent(recordsFor(rest, { firstOffset: 100 })));
    expect(metrics.value('saga_failed_total')).toBe(1);
    expect(metrics.value('saga_compensated_total')).toBe(1);
    expect(metrics.value('saga_compensation_duration_seconds_count')).toBe(1);
  });

  it('counts dead letters by reason and a happy saga as no failure', async () => {
    const metrics = memoryTelemetry();
    const consume = consumeHandlerFor(db.pool, undefined, metrics.telemetry);
    const good = recordsFor(sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-ok' }), { partitions: 1 });
    const garbage = kafkaRecord(Buffer.from([0, 0, 0, 0, 1, 0xff, 0xff]), { partition: 0, offset: 500 });

    await consume(kafkaEvent([...good, garbage]));

    expect(metrics.value('saga_dead_letters_total')).toBe(1);
    expect(metrics.value('saga_dead_letters_total', { reason: 'MALFORMED_AVRO' })).toBe(1);
    expect(metrics.value('saga_failed_total')).toBe(0);
    expect(
      metrics.value('saga_events_processed_total', { step: 'ORDER_CONFIRMED', status: 'COMPLETED' }),
    ).toBe(1);
  });

  it('still reports to CloudWatch under the names the dashboards and alarms use', async () => {
    const emf = captureEmf();
    try {
      const handler = createConsumeHandler({
        logger: new Logger({ serviceName: 'consume-test', logLevel: 'SILENT' }),
        metrics: emf.metrics,
        ingest: { schemas: bundledSchemas(), store: new PgIngestStore(db.pool) },
      });
      await handler(
        kafkaEvent(recordsFor(sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-cw' }))),
        lambdaContext(),
      );

      expect(emf.valuesOf('EventsReceived')).toEqual([7]);
      expect(emf.valuesOf('EventsInserted')).toEqual([7]);
      expect(emf.valuesOf('SagasFailed')).toEqual([1]);
      expect(emf.valuesOf('SagasCompensated')).toEqual([1]);
    } finally {
      emf.restore();
    }
  });
});

describe('consume handler metrics with records keyed by something else than their saga', () => {
  it('still knows each saga state before the batch and counts its failure once', async () => {
    const metrics = memoryTelemetry();
    const consume = consumeHandlerFor(db.pool, undefined, metrics.telemetry);
    const events = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-keyed-by-order' });
    const keyedByOrder = (batch: typeof events, firstOffset: number) =>
      kafkaEvent(
        batch.map((event, index) =>
          kafkaRecord(encodeAvro(event), { offset: firstOffset + index, key: `order-of-${event.sagaId}` }),
        ),
      );

    const failure = events[4];
    if (!failure) throw new Error('fixture without a failure');
    const laterFailure = { ...failure, eventId: 'second-failure', recordedAt: failure.recordedAt + 500 };

    await consume(keyedByOrder(events.slice(0, 5), 0));
    await consume(keyedByOrder([laterFailure, ...events.slice(5)], 5));

    expect(metrics.value('saga_failed_total')).toBe(1);
    expect(metrics.value('saga_compensated_total')).toBe(1);
    const { rows } = await db.pool.query(
      `SELECT step_count FROM saga_instance WHERE saga_id = 'saga-keyed-by-order'`,
    );
    expect(rows).toEqual([{ step_count: 8 }]);
  });
});
