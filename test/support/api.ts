import { Logger } from '@aws-lambda-powertools/logger';
import type pg from 'pg';
import type { ApiDeps } from '../../functions/api/handler';
import { createApiHandler } from '../../functions/api/handler';
import { matchedRouteOf } from '../../functions/api/router';
import { errorSchema } from '../../functions/api/schemas';
import { PgSagaQueryStore } from '../../lib/adapters/pg/query-store';
import type { IamIdentity } from '../../local/api-gateway';
import { localLambdaContext, toApiGatewayEvent } from '../../local/api-gateway';

export const OPERATOR: IamIdentity = {
  userArn: 'arn:aws:sts::123456789012:assumed-role/saga-operator/alice',
  accountId: '123456789012',
};

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
  readonly body: any;
}

export interface CallOptions {
  readonly body?: unknown;
  /** The IAM caller; null for an unauthenticated request. Defaults to OPERATOR. */
  readonly iam?: IamIdentity | null;
}

/**
 * Calls the real API handler with API Gateway v2 events, and checks every
 * answer against the schema the route declares for its status (the OpenAPI
 * document's source): an undeclared status or shape fails the test.
 */
export function apiClient(deps: Partial<ApiDeps> & Pick<ApiDeps, 'store' | 'sagas'>) {
  const handler = createApiHandler({ logger: new Logger({ logLevel: 'SILENT' }), ...deps });
  return async function call(method: string, url: string, options: CallOptions = {}): Promise<ApiAnswer> {
    const iam = options.iam === undefined ? OPERATOR : options.iam;
    const event = toApiGatewayEvent({
      method,
      url,
      ...(options.body === undefined
        ? {}
        : {
            body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
            headers: { 'content-type': 'application/json' },
          }),
      ...(iam ? { iam } : {}),
    });
    const result = await handler(event, localLambdaContext('saga-tracker-api'));
    const status = result.statusCode ?? 200;
    const body = JSON.parse(result.body ?? 'null');
    const route = matchedRouteOf(event);
    const declared = route?.responses[status]?.schema;
    if (route && !declared && status !== 500) {
      throw new Error(`${route.operationId} answered ${status}, which its route does not declare`);
    }
    const schema = declared ?? errorSchema;
    const checked = schema.safeParse(body);
    if (!checked.success) {
      throw new Error(
        `${method} ${url} → ${status}: body does not match its schema: ${checked.error.message}`,
      );
    }
    return { status, headers: (result.headers ?? {}) as Record<string, string>, body };
  };
}

/** The API on a test database. */
export function apiClientFor(pool: pg.Pool, options: { now?: () => Date } = {}) {
  const store = new PgSagaQueryStore(pool);
  return apiClient({ store, sagas: store, ...(options.now ? { now: options.now } : {}) });
}
