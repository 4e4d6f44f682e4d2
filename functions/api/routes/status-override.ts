import { z } from 'zod';
import { ConflictError, ForbiddenError, NotFoundError } from '../../../lib/errors';
import { overrideSagaStatus } from '../../../lib/query/status-override';
import type { ApiEvent, RouteDeps } from '../router';
import { defineRoute } from '../router';
import { errorSchema, sagaIdParams, statusOverrideBodySchema, statusOverrideOutcomeSchema } from '../schemas';

const iamAuthorizer = z.object({
  iam: z.object({ userArn: z.string().min(1), accountId: z.string().nullish() }),
});

export interface Principal {
  readonly arn: string;
  readonly account: string | null;
}

/**
 * The IAM principal API Gateway verified (SigV4, `AWS_IAM` route
 * authorization). Without one, nobody can be named in the audit: refused.
 */
export function iamPrincipalOf(event: ApiEvent): Principal {
  const parsed = iamAuthorizer.safeParse((event.requestContext as { authorizer?: unknown }).authorizer);
  if (!parsed.success) {
    throw new ForbiddenError('this operation needs an IAM-authenticated caller (SigV4-signed request)');
  }
  return { arn: parsed.data.iam.userArn, account: parsed.data.iam.accountId ?? null };
}

/**
 * An archived saga is not in the hot tables the override changes: say so
 * rather than "not found" (GET answers it). Its archive stays as it is.
 */
async function refuseIfArchived(deps: RouteDeps, sagaId: string): Promise<void> {
  // Only the index and one ranged GET; a damaged or unreachable archive leaves the 404 standing.
  const saga = await deps.sagas.findSaga(sagaId).catch(() => null);
  if (saga?.archived) {
    throw new ConflictError(
      `saga ${sagaId} is archived (cold storage): restore it with the archive function's restore action, then force its status`,
      { sagaId },
    );
  }
}

export const statusOverrideRoute = defineRoute({
  method: 'PATCH',
  path: '/internal/v1/sagas/{sagaId}/status',
  operationId: 'overrideSagaStatus',
  summary: "Force a saga's status (operators), with an audit record",
  description:
    'Sets currentStatus and records who (the IAM principal), when, why and the previous status; the entry shows in ' +
    "the saga's timeline as a status override. A producer event newer in event time than the saga's latest step " +
    'takes over again; older ones do not.',
  tags: ['admin'],
  auth: 'iam',
  params: sagaIdParams,
  body: statusOverrideBodySchema,
  responses: {
    200: { description: 'The status was forced.', schema: statusOverrideOutcomeSchema },
    400: { description: 'The status or reason is invalid (the message names it).', schema: errorSchema },
    403: { description: 'The caller is not an IAM principal.', schema: errorSchema },
    404: { description: 'No saga with this id.', schema: errorSchema },
    409: { description: 'The saga is archived: restore it first.', schema: errorSchema },
    503: { description: 'The database is unavailable; retry later.', schema: errorSchema },
  },
  handle: async ({ params, body, event }, deps) => {
    const principal = iamPrincipalOf(event);
    const outcome = await overrideSagaStatus(deps.store, {
      sagaId: params.sagaId,
      status: body.status,
      reason: body.reason,
      principal: principal.arn,
      principalAccount: principal.account,
      requestId: event.requestContext.requestId ?? null,
    }).catch(async (error: unknown) => {
      if (error instanceof NotFoundError && deps.archiveEnabled) await refuseIfArchived(deps, params.sagaId);
      throw error;
    });
    deps.logger.info('saga status overridden', {
      sagaId: outcome.sagaId,
      previousStatus: outcome.previousStatus,
      currentStatus: outcome.currentStatus,
      principal: principal.arn,
      reason: body.reason,
    });
    return { body: outcome };
  },
});
