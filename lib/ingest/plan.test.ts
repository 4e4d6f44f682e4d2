import { kafkaRecord } from '../../test/support/kafka';
import type { SagaEvent } from '../domain/saga-event';
import { PermanentRecordError } from '../errors';
import type { DecodedRecord } from './decode';
import { planBatch } from './plan';

const base: SagaEvent = {
  eventId: 'e-1',
  eventTimestamp: Date.UTC(2026, 0, 1),
  sagaId: 's-1',
  sagaType: 'ORDER_CREATION',
  step: 'ORDER_CREATED',
  status: 'STARTED',
  orderId: 'o-1',
  metadata: { traceId: 'abc', a: 1, b: 2 },
  recordedAt: Date.UTC(2026, 0, 1),
};

function decoded(event: SagaEvent, offset: number): DecodedRecord {
  return { ok: true, record: kafkaRecord(Buffer.from('x'), { offset }), event, producerService: null };
}

describe('planBatch', () => {
  it('applies the first occurrence of an event id and counts identical repeats as duplicates', () => {
    const plan = planBatch([decoded(base, 1), decoded({ ...base }, 2)]);
    expect(plan.steps.map((step) => step.record.offset)).toEqual([1]);
    expect(plan.duplicates).toEqual([
      { ref: { topic: 'c4ang.saga.tracker', partition: 0, offset: 2 }, eventId: 'e-1' },
    ]);
    expect(plan.deadLetters).toEqual([]);
  });

  it('treats metadata with the same keys in another order as the same content', () => {
    const plan = planBatch([
      decoded(base, 1),
      decoded({ ...base, metadata: { b: 2, a: 1, traceId: 'abc' } }, 2),
    ]);
    expect(plan.duplicates).toHaveLength(1);
  });

  it('dead-letters a repeat with different content as an EVENT_ID_CONFLICT naming the first record', () => {
    const plan = planBatch([decoded(base, 1), decoded({ ...base, status: 'FAILED' }, 2)]);
    expect(plan.steps).toHaveLength(1);
    expect(plan.deadLetters).toEqual([
      expect.objectContaining({ reason: 'EVENT_ID_CONFLICT', eventId: 'e-1', sagaId: 's-1' }),
    ]);
    expect(plan.deadLetters[0]?.message).toContain('c4ang.saga.tracker-0@1');
  });

  it('keeps permanent decode failures as dead letters with their reason', () => {
    const failed: DecodedRecord = {
      ok: false,
      record: kafkaRecord(Buffer.from([1, 2]), { offset: 3 }),
      error: new PermanentRecordError('INVALID_MAGIC_BYTE', 'bad byte'),
      eventId: null,
    };
    const plan = planBatch([failed]);
    expect(plan.deadLetters).toEqual([
      expect.objectContaining({ reason: 'INVALID_MAGIC_BYTE', message: 'bad byte' }),
    ]);
  });

  it('derives the trace id from metadata.traceId', () => {
    const plan = planBatch([decoded(base, 1)]);
    expect(plan.steps[0]?.traceId).toBe('abc');
  });
});
