import { Logger } from '@aws-lambda-powertools/logger';
import type pg from 'pg';
import type { ApiDeps } from '../../functions/api/handler';
import { createApiHandler } from '../../functions/api/handler';
import type { DeadLetterAdmin } from '../../functions/api/router';
import { matchedRouteOf } from '../../functions/api/router';
import { errorSchema } from '../../functions/api/schemas';
import type { ApiWiring } from '../../functions/api/wiring';
import { wireApi } from '../../functions/api/wiring';
import { StaticWriterSchemas } from '../../lib/adapters/schema-registry';
import type { IamIdentity } from '../../local/api-gateway';
import { localLambdaContext, toApiGatewayEvent } from '../../local/api-gateway';
import { sagaTrackerSchema } from '../../schemas';
import { SAGA_TRACKER_SCHEMA_ID } from './kafka';

export const OPERATOR: IamIdentity = {
  userArn: 'arn:aws:sts::123456789012:assumed-role/saga-operator/alice',
  accountId: '123456789012',
};

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
  readonly body: any;
  /** The body exactly as the handler sent it. */
  readonly text: string;
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
  const handler = createApiHandler({
    logger: new Logger({ logLevel: 'SILENT' }),
    deadLetters: NO_DEAD_LETTER_ADMIN,
    ...deps,
  });
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
    return {
      status,
      headers: (result.headers ?? {}) as Record<string, string>,
      body,
      text: result.body ?? '',
    };
  };
}

/** For API tests that do not reach the dead-letter routes. */
const NO_DEAD_LETTER_ADMIN: DeadLetterAdmin = {
  replay: () => Promise.reject(new Error('this test API has no dead-letter admin')),
  list: () => Promise.reject(new Error('this test API has no dead-letter admin')),
};

export interface ApiClientOptions extends Partial<Omit<ApiWiring, 'pool'>> {
  readonly now?: () => Date;
}

/**
 * The API on a test database, wired as functions/api/index.ts wires it
 * (wireApi): replays decode with the bundled schema unless told otherwise; an
 * archive when `archive` is given.
 */
export function apiClientFor(pool: pg.Pool, options: ApiClientOptions = {}) {
  const deps = wireApi({
    logger: new Logger({ logLevel: 'SILENT' }),
    replaySchemas: () => new StaticWriterSchemas({ [SAGA_TRACKER_SCHEMA_ID]: sagaTrackerSchema() }),
    maxClockSkewSeconds: 86_400,
    ...options,
    pool,
  });
  return apiClient(deps);
}
