import { Logger } from '@aws-lambda-powertools/logger';
import { PgSagaQueryStore } from '../../lib/adapters/pg/query-store';
import { StaticWriterSchemas } from '../../lib/adapters/schema-registry';
import type { SagaQueryStore } from '../../lib/query/store';
import { localLambdaContext, toApiGatewayEvent } from '../../local/api-gateway';
import { apiClient, apiClientFor } from '../../test/support/api';
import { consumeHandlerFor } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import type { ProducedEvent } from '../../test/support/kafka';
import { kafkaEvent, recordsFor } from '../../test/support/kafka';
import type { StepSpec } from '../../test/support/sagas';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { startTcpProxy } from '../../test/support/tcp-proxy';
import { createApiHandler } from './handler';
import { matchedRouteOf } from './router';
import { wireApi } from './wiring';

const NOW = new Date('2026-11-25T12:00:00.000Z');

function bindAll(store: PgSagaQueryStore): SagaQueryStore {
  return {
    search: store.search.bind(store),
    count: store.count.bind(store),
    statistics: store.statistics.bind(store),
    overrideStatus: store.overrideStatus.bind(store),
    ping: store.ping.bind(store),
  };
}
const at = (iso: string) => Date.parse(iso);

const STOCK_FAILURE_STEPS: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVATION', status: 'IN_PROGRESS', service: 'product' },
  {
    step: 'STOCK_RESERVATION_FAILED',
    status: 'FAILED',
    service: 'product',
    metadata: { failureReason: 'OUT_OF_STOCK' },
  },
];
const STUCK_STEPS: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVATION', status: 'IN_PROGRESS', service: 'product' },
];

let db: TestDatabase;
let call: ReturnType<typeof apiClientFor>;
/** Every saga of the data set, as the API should order them by startedAt desc. */
const bulkIds: string[] = [];

function withCustomer(events: ProducedEvent[], customerId: string): ProducedEvent[] {
  return events.map((event) => ({
    ...event,
    metadata: JSON.stringify({ ...JSON.parse(event.metadata ?? '{}'), customerId }),
  }));
}

async function ingest(events: ProducedEvent[], firstOffset = 0): Promise<void> {
  const consume = consumeHandlerFor(db.pool);
  await consume(kafkaEvent(recordsFor(events, { firstOffset, producer: () => 'test' })));
}

beforeAll(async () => {
  db = await createTestDatabase();
  call = apiClientFor(db.pool, { now: () => NOW });
  const happy = withCustomer(
    sagaEvents(ORDER_CREATION_STEPS, {
      sagaId: 'saga-a',
      start: at('2026-11-25T09:00:00Z'),
      traceId: 'trace-a',
    }),
    'customer-1',
  );
  // Delivered in reverse, in two batches: the timeline must still come out in event time.
  await ingest(happy.slice(3).reverse(), 0);
  await ingest(happy.slice(0, 3).reverse(), 100);
  await ingest(
    sagaEvents(PAYMENT_FAILURE_STEPS, {
      sagaId: 'saga-b',
      sagaType: 'PAYMENT_COMPLETION',
      start: at('2026-11-25T09:10:00Z'),
      gap: 2_000,
      traceId: 'trace-b',
    }),
    200,
  );
  await ingest(sagaEvents(STUCK_STEPS, { sagaId: 'saga-c', start: at('2026-11-25T08:00:00Z') }), 300);
  await ingest(sagaEvents(STOCK_FAILURE_STEPS, { sagaId: 'saga-d', start: at('2026-11-25T10:00:00Z') }), 400);
  await ingest(sagaEvents(STUCK_STEPS, { sagaId: 'saga-e', start: at('2026-11-25T11:59:30Z') }), 500);
  // 24 more sagas on the day before, three at each minute: ties the cursor must break by sagaId.
  const bulk: ProducedEvent[] = [];
  for (let index = 0; index < 24; index++) {
    const sagaId = `bulk-${String(index).padStart(2, '0')}`;
    bulkIds.push(sagaId);
    const start = at('2026-11-24T10:00:00Z') + Math.floor(index / 3) * 60_000;
    bulk.push(
      ...sagaEvents(ORDER_CREATION_STEPS.slice(0, 2 + (index % 5)), { sagaId, start, gap: 500 + index }),
    );
  }
  await ingest(bulk, 1_000);
});
afterAll(() => db.drop());

const ALL_IDS = 29;

async function allIds(sort: string): Promise<string[]> {
  const answer = await call('GET', `/api/v1/sagas?size=100&sort=${sort}`);
  return answer.body.content.map((saga: { sagaId: string }) => saga.sagaId);
}

describe('GET /api/v1/sagas/{sagaId}', () => {
  it('answers the saga with its latest step in event time as its state', async () => {
    const answer = await call('GET', '/api/v1/sagas/saga-a');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      sagaId: 'saga-a',
      sagaType: 'ORDER_CREATION',
      orderId: 'order-saga-a',
      currentStatus: 'COMPLETED',
      lastStep: 'ORDER_CONFIRMED',
      lastTraceId: 'trace-a',
      startedAt: '2026-11-25T09:00:00.000Z',
      updatedAt: '2026-11-25T09:00:06.000Z',
      stepCount: 7,
      statusOverriddenAt: null,
      archived: false,
      archivedAt: null,
    });
  });

  it('answers 404 in the error format for an unknown saga', async () => {
    const answer = await call('GET', '/api/v1/sagas/no-such-saga');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({
      error: 'NOT_FOUND',
      message: 'saga no-such-saga not found',
      timestamp: NOW.toISOString(),
      path: '/api/v1/sagas/no-such-saga',
      details: { sagaId: 'no-such-saga' },
    });
  });

  it('answers 400 naming sagaId when it is longer than any stored id', async () => {
    const answer = await call('GET', `/api/v1/sagas/${'x'.repeat(101)}`);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^sagaId: /);
    expect(answer.body.details.parameter).toBe('sagaId');
  });

  it('decodes a percent-encoded saga id as API Gateway does', async () => {
    const answer = await call('GET', '/api/v1/sagas/saga%2Da');
    expect(answer.status).toBe(200);
    expect(answer.body.sagaId).toBe('saga-a');
  });
});

describe('GET /api/v1/sagas/{sagaId}/steps', () => {
  it('lists the steps in event-time order whatever the arrival order', async () => {
    const answer = await call('GET', '/api/v1/sagas/saga-a/steps');
    expect(answer.status).toBe(200);
    expect(answer.body.sagaId).toBe('saga-a');
    expect(answer.body.steps.map((step: { step: string }) => step.step)).toEqual(
      ORDER_CREATION_STEPS.map((spec) => spec.step),
    );
    expect(answer.body.steps[0]).toEqual({
      id: expect.any(Number),
      eventId: 'saga-a-0-ORDER_CREATED',
      step: 'ORDER_CREATED',
      status: 'STARTED',
      producerService: 'test',
      traceId: 'trace-a',
      metadata: expect.objectContaining({
        traceId: 'trace-a',
        customerId: 'customer-1',
        orderAmount: 42_000,
      }),
      recordedAt: '2026-11-25T09:00:00.000Z',
      eventTimestamp: '2026-11-25T09:00:00.005Z',
    });
    expect(answer.body.statusOverrides).toEqual([]);
  });

  it('answers 404 for an unknown saga', async () => {
    const answer = await call('GET', '/api/v1/sagas/nope/steps');
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe('NOT_FOUND');
  });
});

describe('GET /api/v1/sagas (search)', () => {
  it('answers the first page sorted by startedAt desc with offset totals and a next cursor', async () => {
    const answer = await call('GET', '/api/v1/sagas');
    expect(answer.status).toBe(200);
    expect(answer.body.content).toHaveLength(20);
    expect(answer.body.content.slice(0, 5).map((saga: { sagaId: string }) => saga.sagaId)).toEqual([
      'saga-e',
      'saga-d',
      'saga-b',
      'saga-a',
      'saga-c',
    ]);
    expect(answer.body.page).toEqual({ number: 0, size: 20, totalElements: ALL_IDS, totalPages: 2 });
    expect(answer.body.nextCursor).toEqual(expect.any(String));
  });

  it.each([
    ['startedAt,desc', (a: number, b: number) => a >= b, 'startedAt'],
    ['startedAt,asc', (a: number, b: number) => a <= b, 'startedAt'],
    ['updatedAt,desc', (a: number, b: number) => a >= b, 'updatedAt'],
    ['updatedAt,asc', (a: number, b: number) => a <= b, 'updatedAt'],
  ] as const)('sorts by %s, ties broken by sagaId', async (sort, inOrder, field) => {
    const answer = await call('GET', `/api/v1/sagas?size=100&sort=${sort}`);
    const content = answer.body.content as Array<Record<string, string>>;
    expect(content).toHaveLength(ALL_IDS);
    for (let index = 1; index < content.length; index++) {
      const previous = content[index - 1] as Record<string, string>;
      const current = content[index] as Record<string, string>;
      const a = Date.parse(previous[field] as string);
      const b = Date.parse(current[field] as string);
      expect(inOrder(a, b)).toBe(true);
      if (a === b) {
        const ascending = sort.endsWith('asc');
        expect((previous.sagaId as string) < (current.sagaId as string)).toBe(ascending);
      }
    }
  });

  it('pages by offset with page and size', async () => {
    const all = await allIds('startedAt,desc');
    const answer = await call('GET', '/api/v1/sagas?page=2&size=10');
    expect(answer.body.content.map((saga: { sagaId: string }) => saga.sagaId)).toEqual(all.slice(20, 30));
    expect(answer.body.page).toEqual({ number: 2, size: 10, totalElements: ALL_IDS, totalPages: 3 });
    expect(answer.body.nextCursor).toBeNull();
  });

  it('counts the total when a page lies past the end', async () => {
    const answer = await call('GET', '/api/v1/sagas?page=5&size=10');
    expect(answer.body.content).toEqual([]);
    expect(answer.body.page.totalElements).toBe(ALL_IDS);
  });

  it.each(['startedAt,desc', 'startedAt,asc', 'updatedAt,desc', 'updatedAt,asc'])(
    'walks every saga exactly once by cursor sorted by %s',
    async (sort) => {
      const expected = await allIds(sort);
      const seen: string[] = [];
      let answer = await call('GET', `/api/v1/sagas?size=4&sort=${sort}`);
      seen.push(...answer.body.content.map((saga: { sagaId: string }) => saga.sagaId));
      while (answer.body.nextCursor) {
        answer = await call('GET', `/api/v1/sagas?size=4&cursor=${answer.body.nextCursor}`);
        expect(answer.status).toBe(200);
        expect(answer.body.page).toEqual({ number: null, size: 4, totalElements: null, totalPages: null });
        seen.push(...answer.body.content.map((saga: { sagaId: string }) => saga.sagaId));
      }
      expect(seen).toEqual(expected);
    },
  );

  it('walks a filtered search by cursor when the filters are repeated', async () => {
    const first = await call('GET', '/api/v1/sagas?sagaType=ORDER_CREATION&size=10');
    const second = await call(
      'GET',
      `/api/v1/sagas?sagaType=ORDER_CREATION&size=10&cursor=${first.body.nextCursor}`,
    );
    const ids = [...first.body.content, ...second.body.content].map(
      (saga: { sagaId: string }) => saga.sagaId,
    );
    expect(new Set(ids).size).toBe(20);
    expect(ids).not.toContain('saga-b');
  });

  const ids = (answer: { body: { content: Array<{ sagaId: string }> } }) =>
    answer.body.content.map((saga) => saga.sagaId).sort();

  it.each([
    ['orderId', 'orderId=order-saga-d', ['saga-d']],
    ['sagaType', 'sagaType=PAYMENT_COMPLETION', ['saga-b']],
    ['type (short form)', 'type=PAYMENT_COMPLETION', ['saga-b']],
    ['status', 'status=FAILED', ['saga-d']],
    ['status in lower case', 'status=compensated', ['saga-b']],
    [
      'fromDate and toDate date-times',
      'fromDate=2026-11-25T09:00:00Z&toDate=2026-11-25T10:00:00Z',
      ['saga-a', 'saga-b'],
    ],
    [
      'toDate as a whole day',
      'fromDate=2026-11-25&toDate=2026-11-25',
      ['saga-a', 'saga-b', 'saga-c', 'saga-d', 'saga-e'],
    ],
    ['traceId', 'traceId=trace-b', ['saga-b']],
    ['step', 'step=STOCK_RESERVATION_FAILED', ['saga-d']],
    ['meta.<key> (text)', 'meta.customerId=customer-1', ['saga-a']],
    ['meta.<key> (JSON value)', 'meta.failureReason=CARD_DECLINED', ['saga-b']],
    ['meta.<key> with a number', 'meta.orderAmount=42000&orderId=order-saga-a', ['saga-a']],
    ['stuckForSeconds', 'stuckForSeconds=3600&fromDate=2026-11-25', ['saga-c']],
    ['stuckForSeconds (short)', 'stuckForSeconds=20&fromDate=2026-11-25', ['saga-c', 'saga-e']],
    ['several filters together', 'status=IN_PROGRESS&fromDate=2026-11-25', ['saga-c', 'saga-e']],
    [
      'shortform and long form agreeing',
      'type=ORDER_CREATION&sagaType=ORDER_CREATION&status=FAILED',
      ['saga-d'],
    ],
    ['an empty value as no filter', 'status=&orderId=order-saga-a', ['saga-a']],
  ])('filters by %s', async (_name, query, expected) => {
    const answer = await call('GET', `/api/v1/sagas?${query}`);
    expect(answer.status).toBe(200);
    expect(ids(answer)).toEqual(expected);
    expect(answer.body.page.totalElements).toBe(expected.length);
  });

  it('finds sagas by a step name many sagas share', async () => {
    const answer = await call('GET', '/api/v1/sagas?step=PAYMENT_INITIALIZATION&size=100');
    expect(ids(answer)).toEqual([
      ...['03', '04', '08', '09', '13', '14', '18', '19', '23'].map((n) => `bulk-${n}`),
      'saga-a',
      'saga-b',
    ]);
  });
});

describe('metadata filters that match many steps', () => {
  it.each([
    ['meta.customerId=customer-7', 'selective', 10_000],
    ['meta.customerId=customer-7', 'broad', 2],
    ['meta.customerId=customer-7&meta.failureReason=CARD_DECLINED', 'selective', 10_000],
    ['meta.customerId=customer-7&meta.failureReason=CARD_DECLINED', 'broad', 2],
  ])('answers the same sagas for %s whether the filter is treated as %s', async (query, _kind, limit) => {
    const store = new PgSagaQueryStore(db.pool, { metadataNarrowingLimit: limit });
    const limited = apiClient({ store, sagas: store, now: () => NOW });
    const expected = await call('GET', `/api/v1/sagas?${query}&size=100`);
    const answer = await limited('GET', `/api/v1/sagas?${query}&size=100`);
    expect(answer.body).toEqual(expected.body);
    expect(answer.body.content.length).toBeGreaterThan(0);
    const paged = await limited('GET', `/api/v1/sagas?${query}&size=3&page=1`);
    expect(paged.body.page.totalElements).toBe(expected.body.page.totalElements);
  });
});

describe('search parameters that are wrong', () => {
  it.each([
    ['status=DONE', 'status', /STARTED, IN_PROGRESS, COMPLETED, FAILED, COMPENSATED/],
    ['fromDate=yesterday', 'fromDate', /ISO 8601/],
    ['toDate=2026-02-30', 'toDate', /ISO 8601/],
    ['size=101', 'size', /at most 100/],
    ['size=0', 'size', /at least 1/],
    ['size=ten', 'size', /integer/],
    ['page=-1', 'page', /at least 0/],
    ['page=1.5', 'page', /integer/],
    ['page=6000', 'page', /nextCursor/],
    ['sort=name,asc', 'sort', /startedAt,desc/],
    ['sort=startedAt', 'sort', /startedAt,desc/],
    ['cursor=not-a-cursor', 'cursor', /not a cursor/],
    ['cursor=%7B%7D', 'cursor', /not a cursor/],
    ['stuckForSeconds=soon', 'stuckForSeconds', /integer/],
    ['stuckForSeconds=0', 'stuckForSeconds', /at least 1/],
    ['sise=10', 'sise', /unknown parameter/],
    ['fromDate=2026-11-25&toDate=2026-11-24', 'fromDate', /before toDate/],
    ['type=ORDER_CREATION&sagaType=PAYMENT_COMPLETION', 'type', /conflicts with sagaType/],
    [`orderId=${'o'.repeat(101)}`, 'orderId', /at most 100/],
    ['meta.=x', 'meta.', /key must not be empty/],
    ['meta.a=1&meta.b=2&meta.c=3&meta.d=4&meta.e=5&meta.f=6', 'meta.*', /at most 5/],
  ])('answers 400 for %s, naming %s', async (query, parameter, message) => {
    const answer = await call('GET', `/api/v1/sagas?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('BAD_REQUEST');
    expect(answer.body.message.startsWith(`${parameter}: `)).toBe(true);
    expect(answer.body.message).toMatch(message);
    expect(answer.body.details.parameter).toBe(parameter);
    expect(answer.body.path).toBe('/api/v1/sagas');
  });

  it('refuses a cursor together with page', async () => {
    const first = await call('GET', '/api/v1/sagas?size=5');
    const answer = await call('GET', `/api/v1/sagas?size=5&page=1&cursor=${first.body.nextCursor}`);
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe('page');
  });

  it('refuses a cursor with other filters', async () => {
    const first = await call('GET', '/api/v1/sagas?size=5');
    const answer = await call('GET', `/api/v1/sagas?size=5&status=FAILED&cursor=${first.body.nextCursor}`);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^cursor: .*other filters/);
  });

  it('refuses a cursor with another sort', async () => {
    const first = await call('GET', '/api/v1/sagas?size=5');
    const answer = await call(
      'GET',
      `/api/v1/sagas?size=5&sort=updatedAt,asc&cursor=${first.body.nextCursor}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^cursor: belongs to a search sorted by startedAt,desc/);
  });
});

describe('GET /api/v1/sagas/statistics', () => {
  it('counts the sagas of the period by status and type, with rates and duration percentiles', async () => {
    const answer = await call('GET', '/api/v1/sagas/statistics?fromDate=2026-11-25&toDate=2026-11-25');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      period: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
      sagaType: null,
      total: 5,
      byStatus: { STARTED: 0, IN_PROGRESS: 2, COMPLETED: 1, FAILED: 1, COMPENSATED: 1 },
      byType: { ORDER_CREATION: 4, PAYMENT_COMPLETION: 1 },
      byTypeAndStatus: {
        ORDER_CREATION: { IN_PROGRESS: 2, COMPLETED: 1, FAILED: 1 },
        PAYMENT_COMPLETION: { COMPENSATED: 1 },
      },
      failureRate: 2 / 5,
      compensationRate: 1 / 5,
      // Durations: saga-a 6 s, saga-b 12 s, saga-d 2 s.
      avgDurationSeconds: 20 / 3,
      durationSeconds: { count: 3, p50: 6, p95: expect.closeTo(11.4, 6), p99: expect.closeTo(11.88, 6) },
    });
  });

  it('narrows to one saga type', async () => {
    const answer = await call(
      'GET',
      '/api/v1/sagas/statistics?sagaType=PAYMENT_COMPLETION&fromDate=2026-11-01&toDate=2026-11-30',
    );
    expect(answer.body.total).toBe(1);
    expect(answer.body.sagaType).toBe('PAYMENT_COMPLETION');
    expect(answer.body.compensationRate).toBe(1);
  });

  it('covers the last 24 hours by default', async () => {
    const answer = await call('GET', '/api/v1/sagas/statistics');
    expect(answer.body.period).toEqual({ from: '2026-11-24T12:00:00.000Z', to: '2026-11-25T12:00:00.000Z' });
    expect(answer.body.total).toBe(5);
  });

  it('answers zeros and nulls for an empty period', async () => {
    const answer = await call('GET', '/api/v1/sagas/statistics?fromDate=2020-01-01&toDate=2020-01-02');
    expect(answer.body).toEqual(
      expect.objectContaining({
        total: 0,
        failureRate: 0,
        avgDurationSeconds: null,
        durationSeconds: { count: 0, p50: null, p95: null, p99: null },
      }),
    );
  });

  it.each([
    ['fromDate=nope', 'fromDate'],
    ['toDate=2026-13-01', 'toDate'],
    ['fromDate=2026-11-25&toDate=2026-11-01', 'fromDate'],
    ['status=FAILED', 'status'],
  ])('answers 400 for %s naming %s', async (query, parameter) => {
    const answer = await call('GET', `/api/v1/sagas/statistics?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe(parameter);
  });
});

describe('routing', () => {
  it('answers 404 in the error format for an unknown route', async () => {
    const answer = await call('GET', '/api/v2/sagas');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({
      error: 'NOT_FOUND',
      message: 'no route for GET /api/v2/sagas',
      timestamp: NOW.toISOString(),
      path: '/api/v2/sagas',
      details: { method: 'GET', path: '/api/v2/sagas' },
    });
  });

  it('answers 405 with Allow for a known path and a wrong method', async () => {
    const answer = await call('DELETE', '/api/v1/sagas/saga-a');
    expect(answer.status).toBe(405);
    expect(answer.body.error).toBe('METHOD_NOT_ALLOWED');
    expect(answer.headers.allow).toBe('GET');
  });

  it('answers 405 for GET on the status override', async () => {
    const answer = await call('GET', '/internal/v1/sagas/saga-a/status');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('PATCH');
  });

  it('accepts a trailing slash', async () => {
    const answer = await call('GET', '/api/v1/sagas/saga-a/');
    expect(answer.status).toBe(200);
  });
});

describe('health and failures', () => {
  it('reports UP after a database round trip', async () => {
    const answer = await call('GET', '/api/v1/health');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'UP', database: 'UP', checkedAt: NOW.toISOString() });
  });

  it('answers 503 (health and queries) while the database is unreachable, and recovers', async () => {
    const url = new URL(db.url);
    const proxy = await startTcpProxy(url.hostname, Number(url.port));
    const pg = await import('pg');
    const pool = new pg.default.Pool({
      connectionString: Object.assign(new URL(db.url), { port: String(proxy.port) }).toString(),
      max: 2,
      connectionTimeoutMillis: 2_000,
    });
    pool.on('error', () => undefined);
    try {
      const viaProxy = apiClientFor(pool, { now: () => NOW });
      expect((await viaProxy('GET', '/api/v1/sagas/saga-a')).status).toBe(200);
      proxy.cut();
      const health = await viaProxy('GET', '/api/v1/health');
      expect(health.status).toBe(503);
      expect(health.body.error).toBe('SERVICE_UNAVAILABLE');
      const search = await viaProxy('GET', '/api/v1/sagas?status=FAILED');
      expect(search.status).toBe(503);
      expect(search.headers['retry-after']).toBe('5');
      expect(search.body.details).toEqual({ requestId: expect.any(String) });
      expect(JSON.stringify(search.body)).not.toMatch(/ECONN|connect|terminated|5432/i);
      proxy.restore();
      expect((await viaProxy('GET', '/api/v1/sagas/saga-a')).status).toBe(200);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });

  it('answers 503 when a query outlasts the Lambda (middy times out first)', async () => {
    const store = new PgSagaQueryStore(db.pool);
    const handler = createApiHandler({
      ...wireApi({
        logger: new Logger({ logLevel: 'SILENT' }),
        pool: db.pool,
        replaySchemas: () => new StaticWriterSchemas({}),
        maxClockSkewSeconds: 60,
      }),
      store: { ...bindAll(store), search: () => new Promise(() => undefined) },
    });
    const context = { ...localLambdaContext('saga-tracker-api'), getRemainingTimeInMillis: () => 100 };
    const result = await handler(toApiGatewayEvent({ method: 'GET', url: '/api/v1/sagas' }), context);
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body ?? '{}').message).toMatch(/took too long/);
  });

  it('answers 500 with the request id only when something unexpected breaks', async () => {
    const store = new PgSagaQueryStore(db.pool);
    const broken = apiClient({
      store,
      sagas: {
        findSaga: async () => {
          throw new Error('relation "saga_instance" does not exist at /srv/secret.ts:42');
        },
        findTimeline: async () => null,
      },
    });
    const answer = await broken('GET', '/api/v1/sagas/saga-a');
    expect(answer.status).toBe(500);
    expect(answer.body.error).toBe('INTERNAL_ERROR');
    expect(answer.body.message).toMatch(/^internal error \(request id [\w-]+\)$/);
    expect(answer.body.details).toEqual({ requestId: expect.any(String) });
    expect(JSON.stringify(answer.body)).not.toMatch(/relation|secret|saga_instance/);
  });
});

describe('middleware seam', () => {
  it('lets an added middleware see every shaped response and the matched route', async () => {
    const seen: Array<[string | undefined, number | undefined]> = [];
    const store = new PgSagaQueryStore(db.pool);
    const observed = apiClient({
      store,
      sagas: store,
      middlewares: [
        {
          after: async (request) => {
            seen.push([matchedRouteOf(request.event)?.path, request.response?.statusCode]);
          },
          onError: async (request) => {
            seen.push([matchedRouteOf(request.event)?.path, request.response?.statusCode]);
          },
        },
      ],
    });
    await observed('GET', '/api/v1/sagas/saga-a');
    await observed('GET', '/api/v1/sagas?size=1000');
    await observed('GET', '/nowhere');
    expect(seen).toEqual([
      ['/api/v1/sagas/{sagaId}', 200],
      ['/api/v1/sagas', 400],
      [undefined, 404],
    ]);
  });
});
