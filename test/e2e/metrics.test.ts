import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type pg from 'pg';
import { createApiHandler } from '../../functions/api/handler';
import { wireApi } from '../../functions/api/wiring';
import { createStateGaugesHandler } from '../../functions/state-gauges/handler';
import { PgSagaStateSource } from '../../lib/adapters/pg/saga-state-store';
import { type Telemetry, telemetryFromEnv } from '../../lib/telemetry';
import { localLambdaContext, toApiGatewayEvent } from '../../local/api-gateway';
import { DASHBOARD_FILE, RULES_FILE } from '../../monitoring/prometheus-rule';
import {
  dashboardTargets,
  type GrafanaDashboard,
  interpolatePromql,
  interpolateSql,
} from '../../monitoring/queries';
import { bundledSchemas, consumeHandlerFor, lambdaContext } from '../support/consume';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { kafkaEvent, kafkaRecord, recordsFor } from '../support/kafka';
import { type LocalPrometheus, startPrometheus } from '../support/prometheus';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../support/sagas';

/**
 * The whole metrics path against a real Prometheus (Debian's package, with
 * the remote-write receiver and the project's alert rules loaded): the real
 * consume, api and state-gauges handlers write through remote write;
 * Prometheus's HTTP API must then show the expected series and values, and
 * every PromQL expression of the dashboard and the rules must evaluate.
 */

const MINUTE = 60_000;
const silent = (name: string) => new Logger({ serviceName: name, logLevel: 'SILENT' });
const metricsFor = (name: string) => new Metrics({ namespace: 'SagaTrackerTest', serviceName: name });

let prometheus: LocalPrometheus;
let db: TestDatabase;
let dataSentAt = 0;

function telemetryFor(functionName: string, prometheusUrl: string): Telemetry {
  return telemetryFromEnv(
    functionName,
    { logger: silent(functionName), metrics: metricsFor(functionName) },
    { PROMETHEUS_REMOTE_WRITE_URL: prometheusUrl, PROMETHEUS_REMOTE_WRITE_AUTH: 'none' },
  );
}

/**
 * The real API function: createApiHandler with the dependencies functions/api/index.ts wires (wireApi:
 * queries timed by name, flushMetrics then apiMetrics around the error mapping).
 */
function realApi(pool: pg.Pool, telemetry: Telemetry) {
  const handler = createApiHandler(
    wireApi({
      logger: silent('api'),
      pool,
      telemetry,
      coldStartMetrics: metricsFor('api'),
      replaySchemas: bundledSchemas,
      maxClockSkewSeconds: 86_400,
    }),
  );
  return (url: string) =>
    handler(toApiGatewayEvent({ method: 'GET', url }), localLambdaContext('saga-tracker-api'));
}

async function scalar(expr: string): Promise<number | undefined> {
  const { result } = await prometheus.query(expr);
  if (result.length > 1) throw new Error(`${expr} returned ${result.length} series`);
  return result[0] ? Number(result[0].value[1]) : undefined;
}

beforeAll(async () => {
  [prometheus, db] = await Promise.all([
    startPrometheus({ ruleFiles: [RULES_FILE], evaluationInterval: '1s' }),
    createTestDatabase(),
  ]);
  const now = Date.now();

  // ---- consume: two invocations of the same Lambda environment, one redelivery
  const consume = consumeHandlerFor(db.pool, undefined, telemetryFor('consume', prometheus.writeUrl));
  const happy = Array.from({ length: 20 }, (_, i) =>
    sagaEvents(ORDER_CREATION_STEPS, { sagaId: `happy-${i}`, start: now - 20 * MINUTE }),
  ).flat();
  const compensated = Array.from({ length: 5 }, (_, i) =>
    sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: `comp-${i}`, start: now - 15 * MINUTE, gap: 2_000 }),
  ).flat();
  // Failed ten minutes ago, never compensated: what SagaCompensationTimeout is about.
  const uncompensated = Array.from({ length: 3 }, (_, i) =>
    sagaEvents(PAYMENT_FAILURE_STEPS.slice(0, 5), {
      sagaId: `stuck-fail-${i}`,
      start: now - 14 * MINUTE,
      gap: MINUTE,
    }),
  ).flat();
  const first = kafkaEvent(recordsFor([...happy, ...compensated]));
  const second = kafkaEvent([
    ...recordsFor(uncompensated, { firstOffset: 1_000 }),
    kafkaRecord(Buffer.from([0, 0, 0, 0, 1, 0xff, 0xff]), { partition: 1, offset: 5_000 }),
    kafkaRecord(Buffer.from('not avro at all'), { partition: 1, offset: 5_001 }),
  ]);
  await consume(first);
  await consume(second);
  await consume(first); // redelivered: duplicates only

  // ---- API: requests through the real API handler, each invocation flushing its metrics
  const api = realApi(db.pool, telemetryFor('api', prometheus.writeUrl));
  for (const sagaId of ['happy-1', 'comp-2', 'no-such-saga']) await api(`/api/v1/sagas/${sagaId}`);
  await api('/api/v1/sagas?status=FAILED&size=5');
  await api('/api/v1/sagas?size=1000');

  // ---- state gauges, with the lag CloudWatch would report
  const stateGauges = createStateGaugesHandler({
    logger: silent('state-gauges'),
    metrics: metricsFor('state-gauges'),
    telemetry: telemetryFor('state-gauges', prometheus.writeUrl),
    state: new PgSagaStateSource(db.pool),
    lag: { latestLag: async () => 1_500 },
    thresholds: { stuckAfterSeconds: 1_800, uncompensatedAfterSeconds: 300 },
  });
  await stateGauges({}, lambdaContext('saga-tracker-state-gauges'));
  dataSentAt = Date.now();
});

afterAll(async () => {
  await Promise.all([prometheus?.stop(), db?.drop()]);
});

describe('metrics in a real Prometheus', () => {
  it('has the ingest counters with the values of the traffic, once per saga transition', async () => {
    // 20×7 + 5×7 + 3×5 events inserted; the redelivered first batch adds duplicates only.
    expect(await scalar('sum(saga_events_processed_total{job="saga-tracker"})')).toBe(190);
    expect(await scalar('sum(saga_events_processed_total{step="PAYMENT_FAILED",status="FAILED"})')).toBe(8);
    expect(await scalar('sum(saga_events_processed_total{step="ORDER_CONFIRMED",status="COMPLETED"})')).toBe(
      20,
    );
    expect(await scalar('sum(saga_events_received_total)')).toBe(175 + 17 + 175);
    expect(await scalar('sum(saga_events_duplicate_total)')).toBe(175);
    expect(await scalar('sum(saga_dead_letters_total)')).toBe(2);
    expect(await scalar('sum(saga_failed_total)')).toBe(8);
    expect(await scalar('sum(saga_compensated_total)')).toBe(5);
    expect(await scalar('sum(saga_compensation_duration_seconds_count)')).toBe(5);
    expect(await scalar('sum(saga_compensation_duration_seconds_sum)')).toBe(10);
    expect(await scalar('sum(saga_compensation_duration_seconds_bucket{le="5"})')).toBe(5);
    expect(await scalar('sum(saga_compensation_duration_seconds_bucket{le="1"})')).toBe(0);
    expect(
      await scalar('sum(saga_tracker_db_query_seconds_count{function="consume",query="ingest_batch"})'),
    ).toBe(3);
  });

  it('labels each series with the job, the function and its Lambda environment', async () => {
    const { result } = await prometheus.query('saga_failed_total');
    expect(result).toHaveLength(1);
    expect(result[0]?.metric).toEqual({
      __name__: 'saga_failed_total',
      job: 'saga-tracker',
      function: 'consume',
      instance: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it('has the real API’s latency by route template and method, and the response codes', async () => {
    expect(
      await scalar(
        'sum(saga_tracker_api_latency_seconds_count{function="api",endpoint="/api/v1/sagas/{sagaId}",method="GET"})',
      ),
    ).toBe(3);
    expect(
      await scalar('sum(saga_tracker_api_latency_seconds_count{endpoint="/api/v1/sagas",method="GET"})'),
    ).toBe(2);
    expect(await scalar('sum(saga_tracker_api_requests_total{code="200"})')).toBe(3);
    expect(
      await scalar('sum(saga_tracker_api_requests_total{endpoint="/api/v1/sagas/{sagaId}",code="404"})'),
    ).toBe(1);
    expect(await scalar('sum(saga_tracker_api_requests_total{endpoint="/api/v1/sagas",code="400"})')).toBe(1);
    expect(await scalar('sum(saga_tracker_invocations_total{function="api"})')).toBe(5);
  });

  it('has the database time of the real API’s queries by name', async () => {
    expect(await scalar('sum(saga_tracker_db_query_seconds_count{function="api",query="get_saga"})')).toBe(3);
    // The failed sagas fit one page: the page itself tells the total, no count query.
    expect(
      await scalar('sum(saga_tracker_db_query_seconds_count{function="api",query="search_sagas"})'),
    ).toBe(1);
    expect(await scalar('sum(saga_tracker_db_query_seconds_count{function="api",query="count_sagas"})')).toBe(
      undefined,
    );
    // A refused request reaches no query.
    const { result } = await prometheus.query('saga_tracker_db_query_seconds_count{function="api"}');
    expect(result.map((series) => series.metric.query).sort()).toEqual(['get_saga', 'search_sagas']);
  });

  it('has the state gauges computed from the database and the consumer lag', async () => {
    expect(await scalar('max(saga_tracker_up)')).toBe(1);
    expect(await scalar('max(saga_failed_uncompensated)')).toBe(3);
    expect(await scalar('max(saga_tracker_consumer_lag)')).toBe(1_500);
    expect(await scalar('sum(max by (status) (saga_active_total))')).toBe(0);
    expect(await scalar('max(saga_recent_by_status{status="COMPLETED"})')).toBe(20);
    expect(await scalar('max(saga_recent_by_status{status="COMPENSATED"})')).toBe(5);
    expect(await scalar('sum(max by (reason) (saga_dead_letters_pending))')).toBe(2);
  });
});

describe('the dashboard against that Prometheus', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as GrafanaDashboard;
  const targets = dashboardTargets(dashboard);

  it('evaluates every PromQL expression without error', async () => {
    const promql = targets.filter((target) => target.kind === 'promql');
    const failures: string[] = [];
    for (const target of promql) {
      const expr = interpolatePromql(target.query);
      expect(expr).not.toContain('$');
      await prometheus
        .query(expr)
        .catch((error: Error) => failures.push(`${target.panel}: ${error.message}`));
    }
    expect(failures).toEqual([]);
  });

  it('shows data in the panels the traffic feeds', async () => {
    const fed = [
      'Active sagas',
      'Failed (24h)',
      'Compensated (24h)',
      'Failed, uncompensated > 5 min',
      'Consumer lag',
      'Pending dead letters',
      'Status distribution (sagas active in the last 24h)',
      'Compensation duration p95 / p99',
      'API latency p95 / p99',
      'Database time p95',
    ];
    const empty: string[] = [];
    for (const target of targets.filter((entry) => entry.kind === 'promql' && fed.includes(entry.panel))) {
      const { result } = await prometheus.query(interpolatePromql(target.query));
      if (result.length === 0) empty.push(`${target.panel}: ${target.query}`);
    }
    expect(empty).toEqual([]);
    // The compensation p95 of five 2-second compensations lies in the (1, 5] bucket.
    const p95 = targets.find(
      (target) => target.panel.startsWith('Compensation duration') && target.query.includes('0.95'),
    );
    const value = await scalar(interpolatePromql(p95?.query ?? ''));
    expect(value).toBeGreaterThan(1);
    expect(value).toBeLessThanOrEqual(5);
  });

  it('runs the recent failed sagas table’s SQL on the schema', async () => {
    const sql = targets.find((target) => target.kind === 'sql');
    expect(sql).toBeDefined();
    const { rows } = await db.pool.query(
      interpolateSql(sql?.query ?? '', new Date(Date.now() - 60 * MINUTE), new Date()),
    );
    expect(rows.map((row) => row.Saga).sort()).toEqual([
      'comp-0',
      'comp-1',
      'comp-2',
      'comp-3',
      'comp-4',
      'stuck-fail-0',
      'stuck-fail-1',
      'stuck-fail-2',
    ]);
    expect(rows.find((row) => row.Saga === 'stuck-fail-0')).toMatchObject({
      Status: 'FAILED',
      'Compensated at': null,
    });
  });
});

describe('the alert rules against that Prometheus', () => {
  const rules = readFileSync(RULES_FILE, 'utf8');

  it('evaluates every rule without error once the data is in', async () => {
    const groups = await waitForRuleEvaluation();
    const all = groups.flatMap((group) => group.rules);
    expect(all.map((rule) => rule.name).sort()).toEqual([
      'SagaCompensationTimeout',
      'SagaFailureSpike',
      'SagaTrackerConsumerLag',
      'SagaTrackerDown',
    ]);
    for (const rule of all)
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        rule: rule.name,
        health: 'ok',
        error: '',
      });
  });

  it('puts SagaCompensationTimeout and SagaTrackerConsumerLag on their way to firing, and not SagaTrackerDown', async () => {
    const groups = await waitForRuleEvaluation();
    const state = Object.fromEntries(
      groups.flatMap((group) => group.rules).map((rule) => [rule.name, (rule as { state?: string }).state]),
    );
    expect(state.SagaCompensationTimeout).toMatch(/^(pending|firing)$/);
    expect(state.SagaTrackerConsumerLag).toMatch(/^(pending|firing)$/);
    expect(state.SagaTrackerDown).toBe('inactive');
    expect(rules).toContain('saga_failed_uncompensated');
  });
});

/** The rule groups once every rule has been evaluated after the test data arrived. */
async function waitForRuleEvaluation() {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const groups = await prometheus.rules();
    const rules = groups.flatMap((group) => group.rules);
    if (rules.length > 0 && rules.every((rule) => Date.parse(rule.lastEvaluation) > dataSentAt))
      return groups;
    if (Date.now() > deadline)
      throw new Error(`rules not evaluated after the data arrived: ${JSON.stringify(groups)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
