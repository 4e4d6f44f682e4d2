import { Logger } from '@aws-lambda-powertools/logger';
import { StaticWriterSchemas } from '../../lib/adapters/schema-registry';
import { localLambdaContext, toApiGatewayEvent } from '../../local/api-gateway';
import { OPERATOR } from '../../test/support/api';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { kafkaEvent, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, sagaEvents } from '../../test/support/sagas';
import { memoryTelemetry } from '../../test/support/telemetry';
import { createApiHandler } from './handler';
import { wireApi } from './wiring';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await consumeHandlerFor(db.pool)(
    kafkaEvent(recordsFor(sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'm-1' }))),
  );
});
afterAll(() => db.drop());

describe('API metrics (wired as functions/api/index.ts does, by wireApi)', () => {
  it('records latency and codes by route template, and database time by query name', async () => {
    const { telemetry, value } = memoryTelemetry();
    const handler = createApiHandler(
      wireApi({
        logger: new Logger({ logLevel: 'SILENT' }),
        pool: db.pool,
        telemetry,
        replaySchemas: () => new StaticWriterSchemas({}),
        maxClockSkewSeconds: 86_400,
      }),
    );
    const call = (url: string) =>
      handler(
        toApiGatewayEvent({ method: 'GET', url, iam: OPERATOR }),
        localLambdaContext('saga-tracker-api'),
      );

    await call('/api/v1/sagas/m-1');
    await call('/api/v1/sagas/m-1/steps');
    await call('/api/v1/sagas/statistics');
    await call('/api/v1/sagas?status=NOPE');
    await call('/internal/v1/dead-letters');
    await call('/nowhere/at/all');

    const requests = (endpoint: string, code: string) =>
      value('saga_tracker_api_requests_total', { endpoint, method: 'GET', code });
    expect(requests('/api/v1/sagas/{sagaId}', '200')).toBe(1);
    expect(requests('/api/v1/sagas/{sagaId}/steps', '200')).toBe(1);
    expect(requests('/api/v1/sagas/statistics', '200')).toBe(1);
    expect(requests('/api/v1/sagas', '400')).toBe(1);
    expect(requests('/internal/v1/dead-letters', '200')).toBe(1);
    expect(requests('unmatched', '404')).toBe(1);
    expect(value('saga_tracker_api_latency_seconds_count', { endpoint: '/api/v1/sagas/{sagaId}' })).toBe(1);
    const queries = (query: string) => value('saga_tracker_db_query_seconds_count', { query });
    for (const query of [
      'get_saga',
      'get_saga_steps',
      'saga_statistics',
      'saga_durations',
      'list_dead_letters',
    ])
      expect({ query, count: queries(query) }).toEqual({ query, count: 1 });
    expect(queries('search_sagas')).toBe(0);
    expect(value('saga_tracker_invocations_total')).toBe(6);
  });
});
