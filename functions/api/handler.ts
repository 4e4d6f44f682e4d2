import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { SagaQueryStore, SagaTimelineSource } from '../../lib/query/store';
import { httpErrorResponses } from './http-errors';
import type { ApiEvent, ApiResponse, ApiRoute, DeadLetterAdmin } from './router';
import { createRouter } from './router';
import { API_ROUTES } from './routes';

export type ApiMiddleware = middy.MiddlewareObj<ApiEvent, ApiResponse, Error, Context>;

export interface ApiDeps {
  readonly logger: Logger;
  /** Search, statistics, status override, health. */
  readonly store: SagaQueryStore;
  /** Single-saga reads (get saga, timeline): PostgreSQL, or a source that falls back to an archive. */
  readonly sagas: SagaTimelineSource;
  /**
   * True when `sagas` reads cold storage: search then serves includeArchived=true.
   * @default false
   */
  readonly archiveEnabled?: boolean;
  /** Replay and listing of dead letters (the admin routes). */
  readonly deadLetters: DeadLetterAdmin;
  readonly now?: () => Date;
  readonly routes?: readonly ApiRoute[];
  /**
   * Cross-cutting middlewares (metrics, tracing). They wrap the error mapping,
   * so their `after`/`onError` see every response, errors included, already
   * shaped; `matchedRouteOf(event)` names the route for labels.
   */
  readonly middlewares?: readonly ApiMiddleware[];
}

/** Adds the API Gateway request id and route to every log line of the invocation. */
function requestLogKeys(logger: Logger): ApiMiddleware {
  return {
    before: async (request) => {
      logger.appendKeys({
        apiRequestId: request.event.requestContext?.requestId,
        route: `${request.event.requestContext?.http?.method} ${request.event.rawPath}`,
      });
    },
  };
}

/** The query and admin API behind an API Gateway HTTP API (payload format 2.0). */
export function createApiHandler(deps: ApiDeps) {
  const now = deps.now ?? (() => new Date());
  const handler = middy<ApiEvent, ApiResponse, Error, Context>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(requestLogKeys(deps.logger));
  for (const middleware of deps.middlewares ?? []) handler.use(middleware);
  return handler.use(httpErrorResponses({ logger: deps.logger, now })).handler(
    createRouter(deps.routes ?? API_ROUTES, {
      logger: deps.logger,
      store: deps.store,
      sagas: deps.sagas,
      archiveEnabled: deps.archiveEnabled ?? false,
      deadLetters: deps.deadLetters,
      now,
    }),
  );
}
