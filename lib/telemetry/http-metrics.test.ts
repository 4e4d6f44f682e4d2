import middy from '@middy/core';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  Context,
} from 'aws-lambda';
import { lambdaContext } from '../../test/support/consume';
import { MemoryRecorder } from '../../test/support/telemetry';
import { HttpError, NotFoundError } from '../errors';
import { apiMetrics, endpointOf, routeMatcher, timeQuery, UNMATCHED_ENDPOINT } from './http-metrics';

const ROUTES = [
  '/api/v1/sagas',
  '/api/v1/sagas/{sagaId}',
  '/api/v1/sagas/{sagaId}/steps',
  '/api/v1/sagas/statistics',
  '/internal/v1/sagas/{sagaId}/status',
];

function restEvent(method: string, resource: string, path: string): APIGatewayProxyEvent {
  return { httpMethod: method, resource, path, headers: {}, body: null } as unknown as APIGatewayProxyEvent;
}

function httpApiEvent(method: string, routeKey: string, rawPath: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey,
    rawPath,
    requestContext: { http: { method, path: rawPath } },
  } as unknown as APIGatewayProxyEventV2;
}

/** A stand-in for the API's error middleware: HttpError → its status, anything else → 500. */
const errorResponses: middy.MiddlewareObj<unknown, APIGatewayProxyResult, Error, Context> = {
  onError: (request) => {
    const error = request.error;
    const statusCode = error instanceof HttpError ? error.statusCode : 500;
    request.response = { statusCode, body: JSON.stringify({ error: error?.name }) };
  },
};

/** A small API handler with the metrics middleware placed as the API function will place it. */
function apiHandler(recorder: MemoryRecorder, routes?: readonly string[]) {
  return middy<unknown, APIGatewayProxyResult, Error, Context>()
    .use(apiMetrics(recorder, routes ? { routes } : {}))
    .use(errorResponses)
    .handler(async (event) => {
      const path =
        (event as { path?: string; rawPath?: string }).path ?? (event as { rawPath?: string }).rawPath;
      if (path?.includes('/missing')) throw new NotFoundError('saga missing not found');
      if (path?.includes('/broken')) throw new Error('connection terminated');
      return { statusCode: 200, body: '{}' };
    });
}

describe('routeMatcher', () => {
  const match = routeMatcher(ROUTES);

  it('maps raw paths to their templates, literal segments first', () => {
    expect(match('/api/v1/sagas/saga-42')).toBe('/api/v1/sagas/{sagaId}');
    expect(match('/api/v1/sagas/statistics')).toBe('/api/v1/sagas/statistics');
    expect(match('/api/v1/sagas/saga-42/steps')).toBe('/api/v1/sagas/{sagaId}/steps');
    expect(match('/api/v1/sagas')).toBe('/api/v1/sagas');
    expect(match('/api/v1/sagas/')).toBe('/api/v1/sagas');
  });

  it('allows a stage prefix and refuses unknown paths', () => {
    expect(match('/prod/api/v1/sagas/saga-42')).toBe('/api/v1/sagas/{sagaId}');
    expect(match('/api/v2/other')).toBeUndefined();
  });
});

describe('endpointOf', () => {
  it('takes the template API Gateway already resolved', () => {
    expect(endpointOf(restEvent('GET', '/api/v1/sagas/{sagaId}', '/api/v1/sagas/x'))).toBe(
      '/api/v1/sagas/{sagaId}',
    );
    expect(endpointOf(httpApiEvent('GET', 'GET /api/v1/sagas/{sagaId}/steps', '/api/v1/sagas/x/steps'))).toBe(
      '/api/v1/sagas/{sagaId}/steps',
    );
  });

  it('matches the path behind a proxy resource or $default route, and never returns the raw path', () => {
    const match = routeMatcher(ROUTES);
    expect(endpointOf(restEvent('GET', '/{proxy+}', '/api/v1/sagas/saga-9'), match)).toBe(
      '/api/v1/sagas/{sagaId}',
    );
    expect(endpointOf(httpApiEvent('GET', '$default', '/api/v1/sagas/saga-9'), match)).toBe(
      '/api/v1/sagas/{sagaId}',
    );
    expect(endpointOf(httpApiEvent('GET', '$default', '/wp-admin/saga-9'), match)).toBe(UNMATCHED_ENDPOINT);
    expect(endpointOf(httpApiEvent('GET', '$default', '/api/v1/sagas/saga-9'))).toBe(UNMATCHED_ENDPOINT);
  });
});

describe('apiMetrics middleware', () => {
  it('records latency by route template and method, and the response code', async () => {
    const recorder = new MemoryRecorder();
    const handler = apiHandler(recorder);

    const response = await handler(
      restEvent('GET', '/api/v1/sagas/{sagaId}', '/api/v1/sagas/saga-1'),
      lambdaContext(),
    );

    expect(response.statusCode).toBe(200);
    const labels = { endpoint: '/api/v1/sagas/{sagaId}', method: 'GET' };
    const [latency] = recorder.observations('saga_tracker_api_latency_seconds', labels);
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(5);
    expect(recorder.total('saga_tracker_api_requests_total', { ...labels, code: '200' })).toBe(1);
  });

  it('records the status of errors the error middleware turned into responses', async () => {
    const recorder = new MemoryRecorder();
    const handler = apiHandler(recorder, ROUTES);

    await handler(httpApiEvent('GET', '$default', '/api/v1/sagas/missing'), lambdaContext());
    await handler(httpApiEvent('PATCH', '$default', '/internal/v1/sagas/broken/status'), lambdaContext());

    expect(
      recorder.total('saga_tracker_api_requests_total', {
        endpoint: '/api/v1/sagas/{sagaId}',
        method: 'GET',
        code: '404',
      }),
    ).toBe(1);
    expect(
      recorder.total('saga_tracker_api_requests_total', {
        endpoint: '/internal/v1/sagas/{sagaId}/status',
        method: 'PATCH',
        code: '500',
      }),
    ).toBe(1);
    expect(recorder.observations('saga_tracker_api_latency_seconds')).toHaveLength(2);
  });

  it('records a 500 for an error nobody handled, and the error still fails the invocation', async () => {
    const recorder = new MemoryRecorder();
    const handler = middy<unknown, APIGatewayProxyResult, Error, Context>()
      .use(apiMetrics(recorder))
      .handler(async () => {
        throw new Error('boom');
      });

    await expect(
      handler(restEvent('GET', '/api/v1/sagas', '/api/v1/sagas'), lambdaContext()),
    ).rejects.toThrow('boom');
    expect(
      recorder.total('saga_tracker_api_requests_total', { endpoint: '/api/v1/sagas', code: '500' }),
    ).toBe(1);
  });
});

describe('timeQuery', () => {
  it('records the time of a query under its name, failed queries included', async () => {
    const recorder = new MemoryRecorder();
    await expect(timeQuery(recorder, 'get_saga', async () => 'row')).resolves.toBe('row');
    await expect(
      timeQuery(recorder, 'search_sagas', async () => {
        throw new Error('statement timeout');
      }),
    ).rejects.toThrow('statement timeout');

    expect(recorder.observations('saga_tracker_db_query_seconds', { query: 'get_saga' })).toHaveLength(1);
    expect(recorder.observations('saga_tracker_db_query_seconds', { query: 'search_sagas' })).toHaveLength(1);
  });
});
