import type { Logger } from '@aws-lambda-powertools/logger';
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { BadRequestError, MethodNotAllowedError, NotFoundError } from '../../lib/errors';
import type { SagaQueryStore, SagaTimelineSource } from '../../lib/query/store';
import type { DeadLetterPage, ReplayResponse } from '../../lib/redrive/api';
import type { DeadLetterListQuery, ReplayRequest } from '../../lib/redrive/options';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResponse = APIGatewayProxyStructuredResultV2;
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The dead-letter store's admin operations (SPEC §4 replay, and the listing). */
export interface DeadLetterAdmin {
  replay(request: ReplayRequest): Promise<ReplayResponse>;
  list(query: DeadLetterListQuery): Promise<DeadLetterPage>;
}

/** What route handlers are given: the long-lived clients of the Lambda environment. */
export interface RouteDeps {
  readonly logger: Logger;
  readonly store: SagaQueryStore;
  /** Single-saga reads; an archive-aware source can stand in here. */
  readonly sagas: SagaTimelineSource;
  /** The API has a cold-storage archive: archived sagas are read (`sagas`) and searched (`includeArchived`). */
  readonly archiveEnabled: boolean;
  readonly deadLetters: DeadLetterAdmin;
  readonly now: () => Date;
}

export interface ApiRequest<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Query parameters under the route's `extraQueryPrefix`, prefix removed. */
  readonly extraQuery: Readonly<Record<string, string>>;
  readonly event: ApiEvent;
  readonly context: Context;
}

export interface ApiResult {
  readonly statusCode?: number;
  readonly body: unknown;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * One HTTP operation: its route, its request schemas (validated here, and the
 * source of the OpenAPI document) and its handler. Adding an endpoint is adding
 * one of these to the route table.
 */
export interface RouteDefinition<
  P extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
> {
  readonly method: HttpMethod;
  /** API Gateway style template, e.g. `/api/v1/sagas/{sagaId}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** `iam`: the caller must be an IAM principal (SigV4-signed request). */
  readonly auth?: 'iam';
  readonly params?: P;
  readonly query?: Q;
  /** Query parameters starting with this are passed through as `extraQuery` (e.g. `meta.`). */
  readonly extraQueryPrefix?: string;
  readonly body?: B;
  readonly responses: Readonly<Record<number, { readonly description: string; readonly schema?: z.ZodType }>>;
  handle(request: ApiRequest<Out<P>, Out<Q>, Out<B>>, deps: RouteDeps): Promise<ApiResult>;
}

export type ApiRoute = RouteDefinition<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(definition: RouteDefinition<P, Q, B>): ApiRoute {
  return definition as unknown as ApiRoute;
}

/** The route template matched for an event (e.g. for metrics labels), once routed. */
const matchedRoutes = new WeakMap<object, ApiRoute>();
export function matchedRouteOf(event: object): ApiRoute | undefined {
  return matchedRoutes.get(event);
}

function templatePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) =>
      /^\{[^/]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}/?$`);
}

function validationError(error: z.ZodError, where: 'query' | 'path' | 'body'): BadRequestError {
  const issues = error.issues.map((issue) => {
    // A key a strict body does not know is named itself, not its parent.
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
    const name = path.length > 0 ? path.join('.') : where;
    return {
      parameter: where === 'body' && path.length > 0 ? `body.${name}` : name,
      message: issue.message,
    };
  });
  const message = issues.map((issue) => `${issue.parameter}: ${issue.message}`).join('; ');
  return new BadRequestError(message, { parameter: issues[0]?.parameter ?? where, issues });
}

function knownKeys(schema: z.ZodType | undefined): ReadonlySet<string> {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return new Set(shape ? Object.keys(shape) : []);
}

function splitQuery(route: ApiRoute, event: ApiEvent) {
  const known = knownKeys(route.query);
  const query: Record<string, string> = {};
  const extra: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(event.queryStringParameters ?? {})) {
    // An empty value means "not given": forms and scripts send `?status=` for "any".
    if (value === undefined || value === '') continue;
    if (known.has(key)) query[key] = value;
    else if (route.extraQueryPrefix && key.startsWith(route.extraQueryPrefix))
      extra[key.slice(route.extraQueryPrefix.length)] = value;
    else unknown.push(key);
  }
  if (unknown.length > 0) {
    const allowed = [...known, ...(route.extraQueryPrefix ? [`${route.extraQueryPrefix}<key>`] : [])];
    throw new BadRequestError(
      `${unknown.join(', ')}: unknown parameter${unknown.length > 1 ? 's' : ''}${
        allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ' (this endpoint takes none)'
      }`,
      { parameter: unknown[0], unknown },
    );
  }
  return { query, extra };
}

function readBody(event: ApiEvent): unknown {
  if (event.body === undefined || event.body === '') {
    throw new BadRequestError('body: a JSON object is required', { parameter: 'body' });
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError('body: is not valid JSON', { parameter: 'body' });
  }
}

function parseWith<S extends z.ZodType | undefined>(
  schema: S,
  value: unknown,
  where: 'query' | 'path' | 'body',
): Out<S> {
  if (!schema) return undefined as Out<S>;
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, where);
  return result.data as Out<S>;
}

async function runRoute(
  route: ApiRoute,
  event: ApiEvent,
  context: Context,
  deps: RouteDeps,
): Promise<ApiResponse> {
  matchedRoutes.set(event, route);
  const params = parseWith(route.params, event.pathParameters ?? {}, 'path');
  const { query, extra } = splitQuery(route, event);
  const parsedQuery = parseWith(route.query, query, 'query');
  const body = route.body ? parseWith(route.body, readBody(event), 'body') : undefined;
  const result = await route.handle(
    { params, query: parsedQuery, body, extraQuery: extra, event, context },
    deps,
  );
  return {
    statusCode: result.statusCode ?? 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(result.body),
  };
}

/**
 * Dispatches with @middy/http-router. A path that exists under other methods
 * answers 405 with `Allow`; anything else 404. Errors propagate to the one
 * error-mapping middleware.
 */
export function createRouter(routes: readonly ApiRoute[], deps: RouteDeps) {
  const patterns = routes.map((route) => ({ route, pattern: templatePattern(route.path) }));
  return httpRouterHandler<ApiEvent, ApiResponse>({
    routes: routes.map((route) => ({
      method: route.method,
      path: route.path,
      handler: (event: ApiEvent, context: Context) => runRoute(route, event, context, deps),
    })),
    notFoundResponse: ({ method, path }) => {
      const allowed = patterns.filter(({ pattern }) => pattern.test(path)).map(({ route }) => route.method);
      if (allowed.length > 0) {
        throw new MethodNotAllowedError(`method ${method} is not allowed on ${path}`, {
          method,
          allowed: [...new Set(allowed)],
        });
      }
      throw new NotFoundError(`no route for ${method} ${path}`, { method, path });
    },
  });
}
