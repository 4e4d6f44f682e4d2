/**
 * `npm run bench:ingest` — pushes 200,000 saga events through the real consume
 * handler (batches of 100 and 1,000) against an embedded PostgreSQL 15 with
 * default durability settings, and COPYs the same rows into the same tables as
 * the baseline. Prints events/s of each and the handler/COPY ratio.
 *
 * Every run starts from the same state: the tables already hold a base of
 * earlier sagas (a tracker that has been running, with statistics that match
 * its data), then VACUUM ANALYZE and CHECKPOINT. Measuring against freshly
 * vacuumed empty tables would instead measure a cached seq-scan plan of the
 * foreign-key check that autovacuum replaces within a minute in production.
 *
 * Options (env): BENCH_EVENTS (default 200000), BENCH_BASE_EVENTS (default
 * 200000), DATABASE_URL (use a server instead of the embedded one; the bench
 * creates and drops its own database).
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createConsumeHandler } from '../functions/consume/handler';
import { withClient } from '../lib/adapters/pg/client';
import { PgIngestStore } from '../lib/adapters/pg/ingest-store';
import { migrate } from '../lib/adapters/pg/migrate';
import { StaticWriterSchemas } from '../lib/adapters/schema-registry';
import { startLocalPostgres } from '../local/postgres';
import { sagaTrackerSchema } from '../schemas';
import { lambdaContext } from '../test/support/consume';
import { databaseUrl } from '../test/support/database-url';
import { encodeAvro, kafkaEvent, kafkaRecord, type ProducedEvent } from '../test/support/kafka';

const TOTAL_EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BASE_EVENTS = Number(process.env.BENCH_BASE_EVENTS ?? 200_000);
const STEPS = [
  ['ORDER_CREATED', 'STARTED', 'order'],
  ['STOCK_RESERVATION', 'IN_PROGRESS', 'product'],
  ['STOCK_RESERVED', 'COMPLETED', 'product'],
  ['PAYMENT_COMPLETED', 'COMPLETED', 'payment'],
  ['ORDER_CONFIRMED', 'COMPLETED', 'order'],
] as const;
const T0 = Date.UTC(2026, 9, 1);

function generateEvents(total: number, prefix: string, start: number): ProducedEvent[] {
  const events: ProducedEvent[] = [];
  for (let saga = 0; events.length < total; saga++) {
    const sagaId = `${prefix}-${saga.toString().padStart(7, '0')}`;
    const traceId = randomBytes(16).toString('hex');
    for (const [index, [step, status, service]] of STEPS.entries()) {
      if (events.length === total) break;
      const recordedAt = start + saga * 10_000 + index * 1_000;
      events.push({
        eventId: `${sagaId}-${index}`,
        eventTimestamp: recordedAt + 3,
        sagaId,
        sagaType: 'ORDER_CREATION',
        step,
        status,
        orderId: `order-${saga}`,
        metadata: JSON.stringify({
          traceId,
          spanId: randomBytes(8).toString('hex'),
          producerService: service,
          orderAmount: 10_000 + (saga % 90_000),
          itemCount: 1 + (saga % 5),
          customerId: `customer-${saga % 5_000}`,
          paymentMethod: 'CARD',
        }),
        recordedAt,
      });
    }
  }
  return events;
}

/** Events as MSK invocations: keyed by saga, 3 partitions, `batchSize` records each. */
function invocations(events: readonly ProducedEvent[], batchSize: number) {
  const batches = [];
  for (let start = 0; start < events.length; start += batchSize) {
    const records = events
      .slice(start, start + batchSize)
      .map((event, index) =>
        kafkaRecord(encodeAvro(event), { partition: index % 3, offset: start + index, key: event.sagaId }),
      );
    batches.push(kafkaEvent(records));
  }
  return batches;
}

function csvField(value: string | null): string {
  if (value === null) return '';
  return `"${value.replaceAll('"', '""')}"`;
}

/** The rows the handler ends up storing, as COPY CSV text. */
function copyData(events: readonly ProducedEvent[]) {
  const steps: string[] = [];
  const sagas = new Map<string, ProducedEvent[]>();
  for (const event of events) {
    const metadata = JSON.parse(event.metadata ?? 'null');
    steps.push(
      [
        event.eventId,
        event.sagaId,
        event.step,
        event.status,
        metadata.producerService,
        metadata.traceId,
        event.metadata,
        new Date(event.recordedAt).toISOString(),
        new Date(event.eventTimestamp).toISOString(),
        event.sagaType,
        event.orderId,
      ]
        .map((value) => csvField(value as string))
        .join(','),
    );
    const list = sagas.get(event.sagaId) ?? [];
    list.push(event);
    sagas.set(event.sagaId, list);
  }
  const sagaRows = [...sagas.values()].map((list) => {
    const first = list[0] as ProducedEvent;
    const last = list.at(-1) as ProducedEvent;
    const lastTrace = JSON.parse(last.metadata ?? '{}').traceId as string;
    return [
      first.sagaId,
      first.sagaType,
      first.orderId,
      last.status,
      last.step,
      lastTrace,
      new Date(first.recordedAt).toISOString(),
      new Date(last.recordedAt).toISOString(),
      String(list.length),
      new Date(last.recordedAt).toISOString(),
      new Date(last.eventTimestamp).toISOString(),
      last.eventId,
    ]
      .map(csvField)
      .join(',');
  });
  return { steps: `${steps.join('\n')}\n`, sagas: `${sagaRows.join('\n')}\n` };
}

type CopyData = ReturnType<typeof copyData>;

async function copyRows(client: pg.PoolClient, data: CopyData): Promise<void> {
  await client.query('BEGIN');
  await pipeline(
    Readable.from([data.sagas]),
    client.query(
      copyFrom(`COPY saga_instance (saga_id, saga_type, order_id, current_status, last_step, last_trace_id, started_at,
                  updated_at, step_count, last_recorded_at, last_event_timestamp, last_event_id) FROM STDIN WITH (FORMAT csv)`),
    ),
  );
  await pipeline(
    Readable.from([data.steps]),
    client.query(
      copyFrom(`COPY saga_steps (event_id, saga_id, step, status, producer_service, trace_id, metadata, recorded_at,
                  event_timestamp, saga_type, order_id) FROM STDIN WITH (FORMAT csv)`),
    ),
  );
  await client.query('COMMIT');
}

/** Empty tables, the base sagas COPYed in, statistics fresh, dirty pages flushed. */
async function resetTables(pool: pg.Pool, base: CopyData): Promise<void> {
  await pool.query('TRUNCATE saga_steps, saga_instance, saga_dead_letter RESTART IDENTITY CASCADE');
  const client = await pool.connect();
  try {
    await copyRows(client, base);
  } finally {
    client.release();
  }
  await pool.query('VACUUM ANALYZE');
  await pool.query('CHECKPOINT');
}

async function copyBaseline(pool: pg.Pool, base: CopyData, data: CopyData): Promise<number> {
  await resetTables(pool, base);
  const client = await pool.connect();
  try {
    const started = performance.now();
    await copyRows(client, data);
    return performance.now() - started;
  } finally {
    client.release();
  }
}

async function handlerRun(
  pool: pg.Pool,
  base: CopyData,
  batches: ReturnType<typeof invocations>,
): Promise<number> {
  await resetTables(pool, base);
  const handler = createConsumeHandler({
    logger: new Logger({ serviceName: 'bench', logLevel: 'ERROR' }),
    metrics: new Metrics({ namespace: 'SagaTrackerBench', serviceName: 'bench' }),
    ingest: {
      schemas: new StaticWriterSchemas({ '1': sagaTrackerSchema() }),
      store: new PgIngestStore(pool),
    },
  });
  const context = lambdaContext();
  const started = performance.now();
  let inserted = 0;
  for (const batch of batches) inserted += (await handler(batch, context)).inserted;
  const elapsed = performance.now() - started;
  const expected = batches.reduce((sum, batch) => sum + Object.values(batch.records).flat().length, 0);
  if (inserted !== expected) throw new Error(`handler stored ${inserted} of ${expected} events`);
  return elapsed;
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const server = process.env.DATABASE_URL ? undefined : await startLocalPostgres();
  const serverUrl = process.env.DATABASE_URL ?? server?.url ?? '';
  const name = `saga_bench_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = databaseUrl(serverUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await migrate({ databaseUrl: url });
    console.log(
      `saga-tracker ingest benchmark: ${TOTAL_EVENTS} events onto ${BASE_EVENTS} stored ones, ${cpus().length} cores, Node ${process.version}`,
    );
    const base = copyData(generateEvents(BASE_EVENTS, 'base', T0 - 30 * 86_400_000));
    const events = generateEvents(TOTAL_EVENTS, 'bench', T0);
    const data = copyData(events);
    const results: Array<[string, number]> = [];
    // Warm up JIT and caches on a slice so the first measured run is not penalised.
    await handlerRun(pool, base, invocations(events.slice(0, 5_000), 1_000));
    const copyMs = await copyBaseline(pool, base, data);
    results.push(['COPY baseline', copyMs]);
    for (const batchSize of [100, 1_000]) {
      const batches = invocations(events, batchSize);
      results.push([`handler, batch ${batchSize}`, await handlerRun(pool, base, batches)]);
    }
    const copyRate = TOTAL_EVENTS / (copyMs / 1000);
    for (const [label, ms] of results) {
      const rate = TOTAL_EVENTS / (ms / 1000);
      console.log(
        `${label.padEnd(22)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${Math.round(rate).toString().padStart(8)} events/s  ${(rate / copyRate).toFixed(2)}x COPY`,
      );
    }
    console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    await pool.end();
    await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    await server?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
