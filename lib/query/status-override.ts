import { NotFoundError } from '../errors';
import type { StatusOverrideResponse } from './serialize';
import { toIso, toStatusOverrideResponse } from './serialize';
import type { SagaQueryStore, StatusOverrideInput } from './store';

export interface StatusOverrideOutcome {
  sagaId: string;
  previousStatus: string;
  currentStatus: string;
  updatedAt: string;
  /** The audit entry recorded with the change. */
  override: StatusOverrideResponse;
}

/**
 * Forces a saga's status for operators. Only current_status moves: the
 * event-time position of the saga's latest step stays, so a producer event
 * newer than that step takes over again and an older one does not.
 */
export async function overrideSagaStatus(
  store: SagaQueryStore,
  input: StatusOverrideInput,
): Promise<StatusOverrideOutcome> {
  const result = await store.overrideStatus(input);
  if (!result) throw new NotFoundError(`saga ${input.sagaId} not found`, { sagaId: input.sagaId });
  return {
    sagaId: result.saga.saga_id,
    previousStatus: result.override.previous_status,
    currentStatus: result.saga.current_status,
    updatedAt: toIso(result.saga.updated_at),
    override: toStatusOverrideResponse(result.override),
  };
}
