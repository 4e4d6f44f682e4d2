import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { kafkaEvent, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, sagaEvents } from '../../test/support/sagas';

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
      expect.objectContaining({ received: 7, inserted: 7, duplicates: 0, deadLettered: 0 }),
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
      }),
    );
    expect(saga.started_at.getTime()).toBe(events[0]?.recordedAt);
    expect(saga.updated_at.getTime()).toBe(events[6]?.recordedAt);
    const steps = await db.pool.query(
      'SELECT step, status, producer_service, trace_id FROM saga_steps ORDER BY recorded_at',
    );
    expect(steps.rows.map((row) => row.step)).toEqual(ORDER_CREATION_STEPS.map((spec) => spec.step));
    expect(steps.rows[0]).toEqual({
      step: 'ORDER_CREATED',
      status: 'STARTED',
      producer_service: 'order',
      trace_id: 'trace-1',
    });
  });
});
