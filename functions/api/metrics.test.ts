import { Logger } from '@aws-lambda-powertools/logger';
import { PgSagaQueryStore } from '../../lib/adapters/pg/query-store';
import { apiMetrics, timeQuery } from '../../lib/telemetry/http-metrics';
import type { MetricsRecorder } from '../../lib/telemetry/telemetry';
import { localLambdaContext, toApiGatewayEvent } from '../../local/api-gateway';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { kafkaEvent, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, sagaEvents } from '../../test/support/sagas';
import { createApiHandler } from './handler';
import { API_ROUTES } from './routes';

/** Keeps what the API records, as the Prometheus and CloudWatch sinks would receive it. */
function recordingTelemetry() {
  const samples: Array<{ metric: string; labels: Record<string, string> }> = [];
  const recorder: MetricsRecorder = {
    increment: (metric, labels) => samples.push({ metric: metric.name, labels }),
    observe: (metric, labels) => samples.push({ metric: metric.name, labels }),
    set: () => undefined,
    unset: () => undefined,
  };
  return { recorder, samples };
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await consumeHandlerFor(db.pool)(
    kafkaEvent(recordsFor(sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'm-1' }))),
  );
});
afterAll(() => db.drop());

describe('API metrics (wired as functions/api/index.ts does)', () => {
  it('records latency and codes by route template, and database time by query name', async () => {
    const { recorder, samples } = recordingTelemetry();
    const store = new PgSagaQueryStore(db.pool, {
      observeQuery: (name, run) => timeQuery(recorder, name, run),
    });
    const handler = createApiHandler({
      logger: new Logger({ logLevel: 'SILENT' }),
      store,
      sagas: store,
      middlewares: [apiMetrics(recorder, { routes: API_ROUTES.map((route) => route.path) })],
    });
    const call = (url: string) =>
      handler(toApiGatewayEvent({ method: 'GET', url }), localLambdaContext('saga-tracker-api'));

    await call('/api/v1/sagas/m-1');
    await call('/api/v1/sagas/m-1/steps');
    await call('/api/v1/sagas/statistics');
    await call('/api/v1/sagas?status=NOPE');
    await call('/nowhere/at/all');

    const requests = samples
      .filter((sample) => sample.metric === 'saga_tracker_api_requests_total')
      .map((sample) => [sample.labels.endpoint, sample.labels.code]);
    expect(requests).toEqual([
      ['/api/v1/sagas/{sagaId}', '200'],
      ['/api/v1/sagas/{sagaId}/steps', '200'],
      ['/api/v1/sagas/statistics', '200'],
      ['/api/v1/sagas', '400'],
      ['unmatched', '404'],
    ]);
    const queries = samples
      .filter((sample) => sample.metric === 'saga_tracker_db_query_seconds')
      .map((sample) => sample.labels.query);
    // The two statistics statements run at once: either may finish first.
    expect(queries.slice(0, 2)).toEqual(['get_saga', 'get_saga_steps']);
    expect([...queries.slice(2)].sort()).toEqual(['saga_durations', 'saga_statistics']);
  });
});
