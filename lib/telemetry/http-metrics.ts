import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { API_LATENCY, API_REQUESTS, DB_QUERY_DURATION } from './metrics';
import type { MetricsRecorder } from './telemetry';
import { timed } from './telemetry';

/** The endpoint label of requests that match no known route (never the raw path: that would explode cardinality). */
export const UNMATCHED_ENDPOINT = 'unmatched';

/** The parts of API Gateway REST (v1) and HTTP API (v2) proxy events the metrics read. */
interface ApiGatewayEventLike {
  readonly resource?: string;
  readonly path?: string;
  readonly httpMethod?: string;
  readonly routeKey?: string;
  readonly rawPath?: string;
  /** v2 carries the method in `requestContext.http.method`. */
  readonly requestContext?: unknown;
}

interface CompiledRoute {
  readonly template: string;
  readonly pattern: RegExp;
  readonly literalSegments: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Matches request paths to route templates (`/api/v1/sagas/{sagaId}`). A
 * template with more literal segments wins (`/sagas/statistics` over
 * `/sagas/{sagaId}`); an optional leading stage segment is allowed.
 */
export function routeMatcher(templates: readonly string[]): (path: string) => string | undefined {
  const routes: CompiledRoute[] = templates
    .map((template) => {
      const segments = template.split('/').filter((segment) => segment !== '');
      const source = segments
        .map((segment) => {
          if (/^\{[^}]+\+\}$/.test(segment)) return '/.+';
          if (/^\{[^}]+\}$/.test(segment)) return '/[^/]+';
          return `/${escapeRegExp(segment)}`;
        })
        .join('');
      return {
        template,
        pattern: new RegExp(`^(?:/[^/]+)?${source || '/'}/?$`),
        literalSegments: segments.filter((segment) => !segment.startsWith('{')).length,
      };
    })
    .sort((a, b) => b.literalSegments - a.literalSegments);
  return (path) => routes.find((route) => route.pattern.test(path))?.template;
}

/** The route template of a request: API Gateway's own (`resource`, `routeKey`) when it names one, else a matched template. */
export function endpointOf(event: ApiGatewayEventLike, match?: (path: string) => string | undefined): string {
  if (event.routeKey && event.routeKey !== '$default') {
    const space = event.routeKey.indexOf(' ');
    const template = space < 0 ? event.routeKey : event.routeKey.slice(space + 1);
    if (!template.includes('{proxy+}')) return template;
  }
  if (event.resource && !event.resource.includes('{proxy+}')) return event.resource;
  const path = event.rawPath ?? event.path;
  return (path && match?.(path)) || UNMATCHED_ENDPOINT;
}

function methodOf(event: ApiGatewayEventLike): string {
  const context = event.requestContext as { http?: { method?: unknown } } | undefined;
  const v2Method = typeof context?.http?.method === 'string' ? context.http.method : undefined;
  return (event.httpMethod ?? v2Method ?? 'UNKNOWN').toUpperCase();
}

function statusOf(response: unknown, error: unknown): number {
  if (response && typeof response === 'object' && 'statusCode' in response) {
    const status = Number((response as { statusCode: unknown }).statusCode);
    if (Number.isInteger(status)) return status;
  }
  if (error && typeof error === 'object' && 'statusCode' in error) {
    const status = Number((error as { statusCode: unknown }).statusCode);
    if (Number.isInteger(status)) return status;
  }
  return error ? 500 : 200;
}

export interface ApiMetricsOptions {
  /**
   * The API's route templates, for events that do not carry theirs (a
   * `{proxy+}` resource or `$default` route behind one router function).
   */
  readonly routes?: readonly string[];
}

/**
 * Records `saga_tracker_api_latency_seconds{endpoint,method}` and
 * `saga_tracker_api_requests_total{endpoint,method,code}` for every request.
 * Use it after `flushMetrics` and before the error-mapping middleware, so it
 * sees the final status code of handled errors.
 */
export function apiMetrics<TEvent = unknown, TResult = unknown>(
  recorder: MetricsRecorder,
  options: ApiMetricsOptions = {},
): middy.MiddlewareObj<TEvent, TResult, Error, Context> {
  const match = options.routes ? routeMatcher(options.routes) : undefined;
  const started = new WeakMap<object, bigint>();
  const record = (request: middy.Request<TEvent, TResult, Error, Context>) => {
    const begin = started.get(request);
    if (begin === undefined) return;
    started.delete(request);
    const event = (request.event ?? {}) as ApiGatewayEventLike;
    const endpoint = endpointOf(event, match);
    const method = methodOf(event);
    recorder.observe(API_LATENCY, { endpoint, method }, Number(process.hrtime.bigint() - begin) / 1e9);
    const code = String(statusOf(request.response, request.error));
    recorder.increment(API_REQUESTS, { endpoint, method, code });
  };
  return {
    before: (request) => {
      started.set(request, process.hrtime.bigint());
    },
    after: record,
    onError: record,
  };
}

/**
 * Times one database query (or transaction) into
 * `saga_tracker_db_query_seconds{query}`; `query` is a fixed name such as
 * `get_saga` or `search_sagas`, never SQL text.
 */
export function timeQuery<T>(recorder: MetricsRecorder, query: string, run: () => Promise<T>): Promise<T> {
  return timed(recorder, DB_QUERY_DURATION, { query }, run);
}
