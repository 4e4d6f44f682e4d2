import { parseArchiveLine } from './format';

const saga = {
  saga_id: 's-1',
  saga_type: 'ORDER_CREATION',
  order_id: 'o-1',
  current_status: 'COMPLETED',
  last_step: 'ORDER_CONFIRMED',
  last_trace_id: null,
  started_at: '2026-06-03T12:00:00+00:00',
  updated_at: '2026-06-03T12:00:01.5+00:00',
  created_at: '2026-06-03T12:00:02.123456+00:00',
  step_count: 1,
  last_recorded_at: '2026-06-03T12:00:01.5+00:00',
  last_event_timestamp: '2026-06-03T12:00:01.505+00:00',
  last_event_id: 'e-1',
  failed_at: null,
  compensated_at: null,
  a_column_added_later: 'kept',
};
const step = {
  id: 7,
  saga_id: 's-1',
  event_id: 'e-1',
  step: 'ORDER_CONFIRMED',
  status: 'COMPLETED',
  producer_service: 'order',
  trace_id: null,
  metadata: { orderAmount: 42000 },
  recorded_at: '2026-06-03T12:00:01.5+00:00',
  created_at: '2026-06-03T12:00:02.123456+00:00',
  event_timestamp: '2026-06-03T12:00:01.505+00:00',
  saga_type: 'ORDER_CREATION',
  order_id: 'o-1',
};

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

const override = {
  id: 3,
  saga_id: 's-1',
  previous_status: 'IN_PROGRESS',
  new_status: 'COMPLETED',
  reason: 'delivered by hand',
  principal: 'arn:aws:iam::123456789012:user/alice',
  principal_account: '123456789012',
  request_id: 'r-1',
  overridden_at: '2026-06-03T13:00:00.000123+00:00',
};

describe('archive lines', () => {
  it('parse to the saga row and its steps, keeping columns the reader does not know', () => {
    const parsed = parseArchiveLine(line({ archive_format: 1, saga, steps: [step] }), 's-1');
    expect(parsed.saga).toEqual(saga);
    expect(parsed.steps).toEqual([step]);
    expect(parsed.statusOverrides).toEqual([]);
  });

  it('carry the operators’ status-override audit when there is one', () => {
    const parsed = parseArchiveLine(
      line({ archive_format: 1, saga, steps: [step], status_overrides: [override] }),
      's-1',
    );
    expect(parsed.statusOverrides).toEqual([override]);
  });

  it.each([
    ['another saga', line({ archive_format: 1, saga, steps: [step] }), 's-2', /holds saga s-1/],
    [
      'a stranger step',
      line({ archive_format: 1, saga, steps: [{ ...step, saga_id: 's-9' }] }),
      's-1',
      /belongs to saga s-9/,
    ],
    ['an unknown format', line({ archive_format: 2, saga, steps: [] }), 's-1', /archive_format/],
    [
      'a lossy timestamp',
      line({ archive_format: 1, saga: { ...saga, started_at: '2026-06-03T12:00:00.000Z' }, steps: [] }),
      's-1',
      /saga.started_at/,
    ],
    [
      'a stranger audit entry',
      line({ archive_format: 1, saga, steps: [], status_overrides: [{ ...override, saga_id: 's-9' }] }),
      's-1',
      /status override 3 belongs to saga s-9/,
    ],
    [
      'an audit entry without its principal',
      line({ archive_format: 1, saga, steps: [], status_overrides: [{ ...override, principal: undefined }] }),
      's-1',
      /status_overrides.0.principal/,
    ],
    ['two lines', `${line({ archive_format: 1, saga, steps: [] })}{}\n`, 's-1', /exactly one line/],
    ['not JSON', '{"archive_format":\n', 's-1', /not JSON/],
  ])('refuse %s', (_name, text, sagaId, message) => {
    expect(() => parseArchiveLine(text, sagaId)).toThrow(message);
  });
});
