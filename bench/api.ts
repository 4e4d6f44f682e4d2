import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createApiHandler } from '../functions/api/handler';
import { wireApi } from '../functions/api/wiring';
import { withClient } from '../lib/adapters/pg/client';
import { migrate } from '../lib/adapters/pg/migrate';
import type { PgSagaQueryStore } from '../lib/adapters/pg/query-store';
import { StaticWriterSchemas } from '../lib/adapters/schema-registry';
import { localLambdaContext, toApiGatewayEvent } from '../local/api-gateway';
import { FAST_UNSAFE_SETTINGS, startLocalPostgres } from '../local/postgres';

/**
 * `npm run bench:api [-- --sagas 1000000 --data-dir DIR]`: loads sagas and
 * ~5 steps each with COPY into an embedded PostgreSQL 15, then measures
 * requests through the real API handler, in process, and prints p50/p99.
 * A `--data-dir` that already holds a data set of that size is reused.
 */

const { values: args } = parseArgs({
  options: {
    sagas: { type: 'string', default: process.env.BENCH_SAGAS ?? '1000000' },
    'data-dir': { type: 'string' },
    iterations: { type: 'string', default: '1000' },
    pages: { type: 'string', default: '500' },
  },
});
const SAGAS = Number(args.sagas);
const ITERATIONS = Number(args.iterations);
const PAGES = Number(args.pages);
const DAY = 86_400_000;
const NOW = Date.now();
const SPAN = 90 * DAY;

/** Deterministic per-saga randomness: the saga and step passes regenerate the same saga. */
function prng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function hex(random: () => number, length: number): string {
  let text = '';
  for (let index = 0; index < length; index++) text += Math.floor(random() * 16).toString(16);
  return text;
}

const TYPES = ['ORDER_CREATION', 'PAYMENT_COMPLETION'] as const;
const PROGRESS_STEPS = [
  'STOCK_RESERVATION',
  'STOCK_RESERVED',
  'PAYMENT_INITIALIZATION',
  'PAYMENT_INITIALIZED',
];
const SERVICES = ['order', 'product', 'payment'];
const METHODS = ['CARD', 'BANK_TRANSFER', 'POINTS'];
const CUSTOMERS = 100_000;

interface BenchStep {
  eventId: string;
  step: string;
  status: string;
  service: string;
  recordedAt: number;
  metadata: string;
}

interface BenchSaga {
  sagaId: string;
  sagaType: string;
  orderId: string;
  status: string;
  traceId: string;
  startedAt: number;
  steps: BenchStep[];
  failedAt: number | null;
  compensatedAt: number | null;
}

function sagaIdOf(index: number): string {
  return `${hex(prng(index * 7 + 1), 8)}-${index.toString(36)}`;
}

/** Saga `index`: 80% COMPLETED, 7% COMPENSATED, 2% FAILED (rare), 8% IN_PROGRESS, 3% STARTED. */
function sagaAt(index: number): BenchSaga {
  const random = prng(index + 1);
  const roll = random();
  const status =
    roll < 0.8
      ? 'COMPLETED'
      : roll < 0.87
        ? 'COMPENSATED'
        : roll < 0.89
          ? 'FAILED'
          : roll < 0.97
            ? 'IN_PROGRESS'
            : 'STARTED';
  const sagaId = sagaIdOf(index);
  const sagaType = TYPES[random() < 0.6 ? 0 : 1] as string;
  const traceId = hex(random, 32);
  const customerId = `customer-${Math.floor(random() * CUSTOMERS)}`;
  const amount = Math.floor(random() * 500) * 1000;
  const method = METHODS[Math.floor(random() * METHODS.length)];
  const count = status === 'STARTED' ? 1 : 3 + Math.floor(random() * 5);
  const startedAt = NOW - Math.floor(random() * SPAN);
  const steps: BenchStep[] = [];
  let at = startedAt;
  let failedAt: number | null = null;
  for (let index2 = 0; index2 < count; index2++) {
    const last = index2 === count - 1;
    let step: string;
    let stepStatus: string;
    if (index2 === 0) {
      step = sagaType === 'ORDER_CREATION' ? 'ORDER_CREATED' : 'PAYMENT_INITIALIZATION';
      stepStatus = 'STARTED';
    } else if (last && status === 'COMPLETED') {
      step = 'ORDER_CONFIRMED';
      stepStatus = 'COMPLETED';
    } else if (last && status === 'COMPENSATED') {
      step = 'COMPENSATION_ORDER';
      stepStatus = 'COMPENSATED';
    } else if ((last && status === 'FAILED') || (index2 === count - 2 && status === 'COMPENSATED')) {
      step = 'PAYMENT_FAILED';
      stepStatus = 'FAILED';
    } else {
      step = PROGRESS_STEPS[Math.floor(random() * PROGRESS_STEPS.length)] as string;
      stepStatus = 'IN_PROGRESS';
    }
    if (index2 > 0) at += 200 + Math.floor(random() * 20_000);
    if (stepStatus === 'FAILED' && failedAt === null) failedAt = at;
    const service = SERVICES[Math.floor(random() * SERVICES.length)] as string;
    steps.push({
      eventId: `${sagaId}-${index2}`,
      step,
      status: stepStatus,
      service,
      recordedAt: at,
      metadata: JSON.stringify({
        traceId,
        spanId: hex(random, 16),
        producerService: service,
        customerId,
        orderAmount: amount,
        itemCount: 1 + Math.floor(random() * 5),
        paymentMethod: method,
        ...(stepStatus === 'FAILED' ? { failureReason: 'CARD_DECLINED' } : {}),
      }),
    });
  }
  const compensatedAt = status === 'COMPENSATED' ? at : null;
  return {
    sagaId,
    sagaType,
    orderId: `ORD-${index}`,
    status,
    traceId,
    startedAt,
    steps,
    failedAt,
    compensatedAt,
  };
}

const iso = (millis: number | null) => (millis === null ? '\\N' : new Date(millis).toISOString());

function sagaLine(saga: BenchSaga): string {
  const last = saga.steps[saga.steps.length - 1] as BenchStep;
  return [
    saga.sagaId,
    saga.sagaType,
    saga.orderId,
    saga.status,
    last.step,
    saga.traceId,
    iso(saga.startedAt),
    iso(last.recordedAt),
    saga.steps.length,
    iso(last.recordedAt),
    iso(last.recordedAt + 5),
    last.eventId,
    iso(saga.failedAt),
    iso(saga.compensatedAt),
  ].join('\t');
}

function stepLines(saga: BenchSaga): string {
  return saga.steps
    .map((step) =>
      [
        saga.sagaId,
        step.eventId,
        step.step,
        step.status,
        step.service,
        saga.traceId,
        step.metadata,
        iso(step.recordedAt),
        iso(step.recordedAt + 5),
        saga.sagaType,
        saga.orderId,
      ].join('\t'),
    )
    .join('\n');
}

function rows(count: number, line: (saga: BenchSaga) => string): Readable {
  return Readable.from(
    (function* () {
      const chunk: string[] = [];
      for (let index = 0; index < count; index++) {
        chunk.push(line(sagaAt(index)));
        if (chunk.length === 2_000) {
          yield `${chunk.join('\n')}\n`;
          chunk.length = 0;
        }
      }
      if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
    })(),
  );
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`  ${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** Loads the data set with COPY: indexes dropped during the load and rebuilt after, as for any bulk load. */
async function load(url: string): Promise<void> {
  await withClient(url, async (client) => {
    const { rows: indexes } = await client.query<{ name: string; definition: string }>(
      `SELECT indexname AS name, indexdef AS definition FROM pg_indexes
       WHERE tablename IN ('saga_instance', 'saga_steps')
         AND indexname NOT IN (SELECT conname FROM pg_constraint)`,
    );
    for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);
    // Foreign-key triggers are skipped for the load; every step's saga is generated with it.
    await client.query('SET session_replication_role = replica');
    await timed(`COPY ${SAGAS} sagas`, () =>
      pipeline(
        rows(SAGAS, sagaLine),
        client.query(
          copyFrom(`COPY saga_instance (saga_id, saga_type, order_id, current_status, last_step, last_trace_id,
            started_at, updated_at, step_count, last_recorded_at, last_event_timestamp, last_event_id, failed_at,
            compensated_at) FROM STDIN`),
        ),
      ),
    );
    await timed('COPY steps', () =>
      pipeline(
        rows(SAGAS, stepLines),
        client.query(
          copyFrom(`COPY saga_steps (saga_id, event_id, step, status, producer_service, trace_id, metadata,
            recorded_at, event_timestamp, saga_type, order_id) FROM STDIN`),
        ),
      ),
    );
    await client.query("SET maintenance_work_mem = '1GB'");
    for (const index of indexes) await timed(`CREATE ${index.name}`, () => client.query(index.definition));
    await timed('VACUUM ANALYZE', () => client.query('VACUUM ANALYZE saga_instance, saga_steps'));
    await client.query('CREATE TABLE bench_meta (sagas integer, loaded_at timestamptz)');
    await client.query('INSERT INTO bench_meta VALUES ($1, $2)', [SAGAS, new Date(NOW)]);
  });
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

interface Measured {
  name: string;
  samples: number[];
  target?: { p99: number };
}

const results: Measured[] = [];

function report(name: string, samples: number[], target?: { p99: number }): void {
  results.push({ name, samples, ...(target ? { target } : {}) });
  const sorted = [...samples].sort((a, b) => a - b);
  const p99 = percentile(sorted, 0.99);
  const verdict = target
    ? p99 < target.p99
      ? `  ok (< ${target.p99} ms)`
      : `  MISSED (target < ${target.p99} ms)`
    : '';
  console.log(
    `${name.padEnd(58)} n=${String(samples.length).padStart(5)}  p50=${percentile(sorted, 0.5).toFixed(2).padStart(7)} ms  p99=${p99.toFixed(2).padStart(7)} ms${verdict}`,
  );
}

async function main(): Promise<void> {
  const dataDir = args['data-dir'] ?? join(await mkdtemp(join(tmpdir(), 'saga-bench-')), 'pgdata');
  console.log(`bench:api — ${SAGAS} sagas, data in ${dataDir}`);
  const postgres = await startLocalPostgres({
    dataDir,
    settings: {
      ...FAST_UNSAFE_SETTINGS,
      shared_buffers: '1GB',
      work_mem: '16MB',
      max_wal_size: '8GB',
      checkpoint_timeout: '30min',
      effective_cache_size: '8GB',
      random_page_cost: '1.1',
    },
  });
  const url = new URL(postgres.url);
  url.pathname = '/saga_bench';
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // The server stops right after the pool: a connection it terminates then is expected, not a crash.
  pool.on('error', () => undefined);
  try {
    const exists = await withClient(postgres.url, (client) =>
      client.query("SELECT 1 FROM pg_database WHERE datname = 'saga_bench'"),
    );
    if (exists.rowCount === 0)
      await withClient(postgres.url, (client) => client.query('CREATE DATABASE saga_bench'));
    await migrate({ databaseUrl: url.toString() });
    const loaded = await pool
      .query<{ sagas: number }>('SELECT sagas FROM bench_meta')
      .then((answer) => answer.rows[0]?.sagas)
      .catch(() => undefined);
    if (loaded === SAGAS) {
      console.log('reusing the data set already loaded');
    } else {
      if (loaded !== undefined)
        throw new Error(`${dataDir} holds ${loaded} sagas, not ${SAGAS}: use another --data-dir`);
      console.log('loading:');
      await load(url.toString());
    }
    const { rows: counts } = await pool.query<{ sagas: number; steps: number }>(
      'SELECT (SELECT count(*)::int FROM saga_instance) AS sagas, (SELECT count(*)::int FROM saga_steps) AS steps',
    );
    console.log(`data set: ${counts[0]?.sagas} sagas, ${counts[0]?.steps} steps\n`);
    await measure(pool);
  } finally {
    await pool.end();
    await postgres.stop();
    if (!args['data-dir']) await rm(join(dataDir, '..'), { recursive: true, force: true });
  }
}

async function measure(pool: pg.Pool): Promise<void> {
  const deps = wireApi({
    logger: new Logger({ logLevel: 'SILENT' }),
    pool,
    replaySchemas: () => new StaticWriterSchemas({}),
    maxClockSkewSeconds: 86_400,
  });
  const store = deps.store as PgSagaQueryStore;
  const handler = createApiHandler(deps);
  const context = localLambdaContext('saga-tracker-api');
  const request = async (url: string): Promise<{ ms: number; body: { nextCursor?: string | null } }> => {
    const event = toApiGatewayEvent({ method: 'GET', url });
    const started = performance.now();
    const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
    const ms = performance.now() - started;
    if (result.statusCode !== 200) throw new Error(`${url} answered ${result.statusCode}: ${result.body}`);
    return { ms, body: JSON.parse(result.body ?? '{}') };
  };
  const random = prng(424242);
  const randomSaga = () => sagaIdOf(Math.floor(random() * SAGAS));
  const repeat = async (times: number, url: () => string) => {
    for (let index = 0; index < Math.min(20, times); index++) await request(url());
    const samples: number[] = [];
    for (let index = 0; index < times; index++) samples.push((await request(url())).ms);
    return samples;
  };

  // The database's share of a request, to tell handler overhead from machine noise.
  const storeOnly = async (read: (sagaId: string) => Promise<unknown>) => {
    const samples: number[] = [];
    for (let index = 0; index < ITERATIONS; index++) {
      const sagaId = randomSaga();
      const started = performance.now();
      await read(sagaId);
      samples.push(performance.now() - started);
    }
    return samples;
  };
  report('GET /sagas/{id}', await repeat(ITERATIONS, () => `/api/v1/sagas/${randomSaga()}`), { p99: 5 });
  report('  (its SQL alone, through the store)', await storeOnly((id) => store.findSaga(id)));
  report('GET /sagas/{id}/steps', await repeat(ITERATIONS, () => `/api/v1/sagas/${randomSaga()}/steps`), {
    p99: 5,
  });
  report('  (its SQL alone, through the store)', await storeOnly((id) => store.findTimeline(id)));
  const statisticsStart = new Date(NOW - 30 * DAY);
  report(
    '  statistics over 30 days (SQL alone, through the store)',
    await (async () => {
      const samples: number[] = [];
      for (let index = 0; index < 10; index++) {
        const started = performance.now();
        await store.statistics({ from: statisticsStart, to: new Date(NOW) });
        samples.push(performance.now() - started);
      }
      return samples;
    })(),
  );
  report(
    'search first page status=FAILED',
    await repeat(ITERATIONS / 2, () => '/api/v1/sagas?status=FAILED'),
  );
  report(
    'search first page sagaType=PAYMENT_COMPLETION&status=COMPENSATED',
    await repeat(
      ITERATIONS / 2,
      () => '/api/v1/sagas?sagaType=PAYMENT_COMPLETION&status=COMPENSATED&size=20',
    ),
  );

  const walks: Array<[string, string]> = [
    ['no filter, startedAt,desc', 'sort=startedAt,desc'],
    ['status=FAILED (rare), startedAt,desc', 'status=FAILED&sort=startedAt,desc'],
    ['status=FAILED (rare), updatedAt,asc', 'status=FAILED&sort=updatedAt,asc'],
    ['status=IN_PROGRESS, updatedAt,desc', 'status=IN_PROGRESS&sort=updatedAt,desc'],
    ['sagaType=ORDER_CREATION, startedAt,asc', 'sagaType=ORDER_CREATION&sort=startedAt,asc'],
  ];
  for (const [label, query] of walks) {
    const pageTimes: number[] = [];
    let answer = await request(`/api/v1/sagas?size=20&${query}`);
    let cursorOfLastPage = '';
    for (let page = 1; page < PAGES && answer.body.nextCursor; page++) {
      cursorOfLastPage = answer.body.nextCursor;
      answer = await request(`/api/v1/sagas?size=20&${query}&cursor=${cursorOfLastPage}`);
      pageTimes.push(answer.ms);
    }
    report(`cursor pages 2..${PAGES} (${label})`, pageTimes, { p99: 10 });
    report(
      `page ${PAGES} by cursor (${label})`,
      await repeat(200, () => `/api/v1/sagas?size=20&${query}&cursor=${cursorOfLastPage}`),
      { p99: 10 },
    );
  }
  report(
    'page 500 by offset (no filter, with count)',
    await repeat(30, () => '/api/v1/sagas?size=20&page=499'),
  );
  report(
    'page 500 by offset (status=FAILED, with count)',
    await repeat(30, () => '/api/v1/sagas?size=20&page=499&status=FAILED'),
  );
  report(
    'metadata search meta.customerId=<random>',
    await repeat(
      ITERATIONS / 2,
      () => `/api/v1/sagas?meta.customerId=customer-${Math.floor(random() * CUSTOMERS)}`,
    ),
  );
  report(
    'traceId search',
    await repeat(
      ITERATIONS / 2,
      () => `/api/v1/sagas?traceId=${sagaAt(Math.floor(random() * SAGAS)).traceId}`,
    ),
  );
  report(
    'stuck search stuckForSeconds=86400',
    await repeat(100, () => '/api/v1/sagas?stuckForSeconds=86400'),
  );
  const from = new Date(NOW - 30 * DAY).toISOString();
  const to = new Date(NOW).toISOString();
  report(
    'statistics over 30 days',
    await repeat(20, () => `/api/v1/sagas/statistics?fromDate=${from}&toDate=${to}`),
    {
      p99: 200,
    },
  );

  const missed = results.filter((result) => {
    const sorted = [...result.samples].sort((a, b) => a - b);
    return result.target && percentile(sorted, 0.99) >= result.target.p99;
  });
  console.log(
    missed.length === 0 ? '\nall targets met' : `\ntargets missed: ${missed.map((m) => m.name).join('; ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
