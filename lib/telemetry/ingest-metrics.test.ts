import { MemoryRecorder } from '../../test/support/telemetry';
import type { IngestResult } from '../ingest/ingest';
import { recordIngestMetrics } from './ingest-metrics';

const RESULT: IngestResult = {
  outcomes: [],
  sagaChanges: [
    {
      sagaId: 's1',
      sagaType: 'ORDER_CREATION',
      previousStatus: 'IN_PROGRESS',
      currentStatus: 'COMPENSATED',
      enteredFailed: true,
      enteredCompensated: true,
      compensationSeconds: 42,
    },
    {
      sagaId: 's2',
      sagaType: 'ORDER_CREATION',
      previousStatus: 'FAILED',
      currentStatus: 'FAILED',
      enteredFailed: false,
      enteredCompensated: false,
      compensationSeconds: null,
    },
  ],
  summary: {
    received: 6,
    inserted: 3,
    duplicates: 1,
    deadLettered: 2,
    deadLettersByReason: { MALFORMED_AVRO: 1, EVENT_ID_CONFLICT: 1 },
    insertedByStepStatus: [
      { step: 'PAYMENT_FAILED', status: 'FAILED', count: 1 },
      { step: 'STOCK_RELEASED', status: 'COMPENSATED', count: 2 },
    ],
  },
};

describe('recordIngestMetrics', () => {
  it('records the summary and counts only the transitions the store reported', () => {
    const recorder = new MemoryRecorder();
    recordIngestMetrics(recorder, RESULT);

    expect(recorder.total('saga_events_received_total')).toBe(6);
    expect(
      recorder.total('saga_events_processed_total', { step: 'STOCK_RELEASED', status: 'COMPENSATED' }),
    ).toBe(2);
    expect(recorder.total('saga_events_duplicate_total')).toBe(1);
    expect(recorder.total('saga_dead_letters_total', { reason: 'EVENT_ID_CONFLICT' })).toBe(1);
    expect(recorder.total('saga_failed_total')).toBe(1);
    expect(recorder.total('saga_compensated_total')).toBe(1);
    expect(recorder.observations('saga_compensation_duration_seconds')).toEqual([42]);
  });
});
