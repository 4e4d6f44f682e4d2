import type { ArchivedSaga } from '../archive/reader';
import { ArchiveAwareSagaSource, mergeReheatedTimeline } from './archive-aware';
import type { SagaRow, StatusOverrideRow, StepRow } from './serialize';
import type { SagaTimeline } from './store';

const sagaRow: SagaRow = {
  saga_id: 's-1',
  saga_type: 'ORDER_CREATION',
  order_id: 'o-1',
  current_status: 'COMPLETED',
  last_step: 'LATE',
  last_trace_id: null,
  started_at: new Date('2026-06-01T09:00:00Z'),
  updated_at: new Date('2026-06-01T09:00:09Z'),
  step_count: 4,
  status_overridden_at: null,
  archived_at: new Date('2026-09-01T00:00:00Z'),
};

function step(eventId: string, second: number): StepRow {
  const at = `2026-06-01T09:00:0${second}+00:00`;
  return {
    id: second,
    event_id: eventId,
    step: eventId,
    status: 'IN_PROGRESS',
    producer_service: null,
    trace_id: null,
    metadata: null,
    recorded_at: at,
    event_timestamp: at,
  };
}

function override(id: number, minute: number): StatusOverrideRow {
  return {
    id,
    previous_status: 'IN_PROGRESS',
    new_status: 'FAILED',
    reason: 'r',
    principal: 'p',
    principal_account: null,
    request_id: null,
    overridden_at: `2026-06-01T10:0${minute}:00+00:00`,
  };
}

function archivedOf(steps: StepRow[], overrides: StatusOverrideRow[]): ArchivedSaga {
  return {
    archived: true,
    archivedAt: '2026-09-01T00:00:00+00:00',
    objectKey: 'k',
    saga: { ...sagaRow, created_at: 'x' } as unknown as ArchivedSaga['saga'],
    steps: steps as unknown as ArchivedSaga['steps'],
    statusOverrides: overrides as unknown as ArchivedSaga['statusOverrides'],
  };
}

describe('the timeline of a saga a late event brought back', () => {
  it('puts archived and hot steps in event-time order, and overrides in time order', () => {
    const hot: SagaTimeline = { saga: sagaRow, steps: [step('late', 2)], overrides: [override(9, 5)] };
    const merged = mergeReheatedTimeline(
      hot,
      archivedOf([step('a', 1), step('b', 3), step('c', 4)], [override(2, 1)]),
    );
    expect(merged.saga).toBe(sagaRow);
    expect(merged.steps.map((row) => row.event_id)).toEqual(['a', 'late', 'b', 'c']);
    expect(merged.overrides.map((row) => row.id)).toEqual([2, 9]);
  });

  it('lists an event once when the archive already holds the hot steps (archived again meanwhile)', () => {
    const hot: SagaTimeline = { saga: sagaRow, steps: [step('late', 2)], overrides: [override(9, 5)] };
    const merged = mergeReheatedTimeline(
      hot,
      archivedOf([step('a', 1), step('late', 2), step('b', 3)], [override(2, 1), override(9, 5)]),
    );
    expect(merged.steps.map((row) => row.event_id)).toEqual(['a', 'late', 'b']);
    expect(merged.overrides.map((row) => row.id)).toEqual([2, 9]);
  });
});

describe('ArchiveAwareSagaSource', () => {
  const hotNever = { findSaga: async () => null, findTimeline: async () => null };

  it('reads cold storage only for sagas the hot tables do not have, or have back from the archive', async () => {
    const reads: string[] = [];
    const archive = {
      readArchivedSaga: async (sagaId: string) => {
        reads.push(sagaId);
        return sagaId === 's-1' ? archivedOf([step('a', 1)], []) : null;
      },
    };
    const hotPlain: SagaTimeline = { saga: { ...sagaRow, archived_at: null }, steps: [], overrides: [] };
    const plain = new ArchiveAwareSagaSource(
      { findSaga: async () => hotPlain.saga, findTimeline: async () => hotPlain },
      archive,
    );
    expect(await plain.findTimeline('s-1')).toBe(hotPlain);
    expect(reads).toEqual([]);

    const cold = new ArchiveAwareSagaSource(hotNever, archive);
    expect(await cold.findSaga('s-1')).toEqual(expect.objectContaining({ archived: true, saga_id: 's-1' }));
    expect((await cold.findTimeline('s-1'))?.steps.map((row) => row.event_id)).toEqual(['a']);
    expect(await cold.findSaga('unknown')).toBeNull();
    expect(reads).toEqual(['s-1', 's-1', 'unknown']);
  });
});
