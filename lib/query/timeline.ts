import { NotFoundError } from '../errors';
import type { SagaResponse, StatusOverrideResponse, StepResponse } from './serialize';
import { toSagaResponse, toStatusOverrideResponse, toStepResponse } from './serialize';
import type { SagaTimelineSource } from './store';

function unknownSaga(sagaId: string): NotFoundError {
  return new NotFoundError(`saga ${sagaId} not found`, { sagaId });
}

export async function getSaga(source: SagaTimelineSource, sagaId: string): Promise<SagaResponse> {
  const row = await source.findSaga(sagaId);
  if (!row) throw unknownSaga(sagaId);
  return toSagaResponse(row);
}

export interface SagaStepsResponse {
  sagaId: string;
  /** Producer events only, in event-time order. */
  steps: StepResponse[];
  /** Operators' forced status changes, oldest first: audit entries, never steps. */
  statusOverrides: StatusOverrideResponse[];
  /** As on the saga: served from cold storage, and when the saga (or its earlier timeline) was archived. */
  archived: boolean;
  archivedAt: string | null;
}

export async function getSagaSteps(source: SagaTimelineSource, sagaId: string): Promise<SagaStepsResponse> {
  const timeline = await source.findTimeline(sagaId);
  if (!timeline) throw unknownSaga(sagaId);
  const { archived, archivedAt } = toSagaResponse(timeline.saga);
  return {
    sagaId: timeline.saga.saga_id,
    steps: timeline.steps.map(toStepResponse),
    statusOverrides: timeline.overrides.map(toStatusOverrideResponse),
    archived,
    archivedAt,
  };
}
