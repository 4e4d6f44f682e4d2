import { metadataValues } from './search-criteria';
import type { SagaRow, StepRow } from './serialize';
import { compareStepsInEventTime, toSagaResponse, toStepResponse } from './serialize';

const sagaRow: SagaRow = {
  saga_id: 'saga-1',
  saga_type: 'ORDER_CREATION',
  order_id: 'order-1',
  current_status: 'COMPLETED',
  last_step: 'ORDER_CONFIRMED',
  last_trace_id: 'trace-1',
  started_at: new Date('2026-11-25T09:00:00Z'),
  updated_at: new Date('2026-11-25T09:00:06Z'),
  step_count: 7,
  status_overridden_at: null,
};

function step(overrides: Partial<StepRow>): StepRow {
  return {
    id: 1,
    event_id: 'e-1',
    step: 'ORDER_CREATED',
    status: 'STARTED',
    producer_service: 'order',
    trace_id: null,
    metadata: null,
    recorded_at: '2026-11-25T09:00:00+00:00',
    event_timestamp: '2026-11-25T09:00:00.005+00:00',
    ...overrides,
  };
}

describe('serialization of rows', () => {
  it('maps a saga row from the database and the same row read back from JSON alike', () => {
    const fromJson = JSON.parse(JSON.stringify(sagaRow)) as SagaRow;
    expect(toSagaResponse(fromJson)).toEqual(toSagaResponse(sagaRow));
    expect(toSagaResponse(sagaRow)).toEqual({
      sagaId: 'saga-1',
      sagaType: 'ORDER_CREATION',
      orderId: 'order-1',
      currentStatus: 'COMPLETED',
      lastStep: 'ORDER_CONFIRMED',
      lastTraceId: 'trace-1',
      startedAt: '2026-11-25T09:00:00.000Z',
      updatedAt: '2026-11-25T09:00:06.000Z',
      stepCount: 7,
      statusOverriddenAt: null,
      archived: false,
      archivedAt: null,
    });
  });

  it('marks a saga read from the archive, with when it was archived', () => {
    const archived = toSagaResponse({
      ...sagaRow,
      archived: true,
      archived_at: '2026-12-01T03:00:00.123456+00:00',
    });
    expect(archived).toEqual({
      ...toSagaResponse(sagaRow),
      archived: true,
      archivedAt: '2026-12-01T03:00:00.123Z',
    });
    // Only the last two keys differ: the archived answer is the hot one with those two values changed.
    expect(Object.keys(archived)).toEqual(Object.keys(toSagaResponse(sagaRow)));
    expect(Object.keys(archived).slice(-2)).toEqual(['archived', 'archivedAt']);
  });

  it('treats a saga row without the override column (older archives) as never overridden', () => {
    const { status_overridden_at: _ignored, ...older } = sagaRow;
    expect(toSagaResponse(older).statusOverriddenAt).toBeNull();
  });

  it('maps a step row with timestamps in any ISO form to UTC', () => {
    expect(toStepResponse(step({ metadata: { traceId: 't' } }))).toEqual({
      id: 1,
      eventId: 'e-1',
      step: 'ORDER_CREATED',
      status: 'STARTED',
      producerService: 'order',
      traceId: null,
      metadata: { traceId: 't' },
      recordedAt: '2026-11-25T09:00:00.000Z',
      eventTimestamp: '2026-11-25T09:00:00.005Z',
    });
  });

  it('orders steps by recorded time, then event time, then event id bytes', () => {
    const a = step({ event_id: 'b', recorded_at: '2026-11-25T09:00:00Z' });
    const b = step({ event_id: 'a', recorded_at: '2026-11-25T09:00:01Z' });
    const c = step({
      event_id: 'a',
      recorded_at: '2026-11-25T09:00:01Z',
      event_timestamp: '2026-11-25T09:00:02Z',
    });
    const d = step({
      event_id: 'b',
      recorded_at: '2026-11-25T09:00:01Z',
      event_timestamp: '2026-11-25T09:00:02Z',
    });
    expect([d, c, b, a].sort(compareStepsInEventTime)).toEqual([a, b, c, d]);
  });
});

describe('metadataValues', () => {
  it.each([
    ['CARD', ['CARD']],
    ['42000', ['42000', 42_000]],
    ['-1.5e3', ['-1.5e3', -1500]],
    ['true', ['true', true]],
    ['null', ['null', null]],
    ['007', ['007']],
    ['1e999', ['1e999']],
  ])('matches %j as %j', (text, values) => {
    expect(metadataValues(text)).toEqual(values);
  });
});
