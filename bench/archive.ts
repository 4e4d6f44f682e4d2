/**
 * `npm run bench:archive [-- --sagas 100000 --reads 1000]`
 *
 * Loads sagas (5 steps each) through the real ingest path into an embedded
 * PostgreSQL, archives them all to a local S3-compatible server (s3rver) with
 * the real archiver, then reads archived sagas back one at a time. Prints
 * sagas/s, bytes per saga and read-back latency percentiles. Then, with a
 * tenth as many hot sagas loaded beside the archive, the same reads and
 * searches with includeArchived=true through the real API handler (wireApi).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import pg from 'pg';
import { createApiHandler } from '../functions/api/handler';
import { wireApi } from '../functions/api/wiring';
import { createArchiveStack } from '../lib/adapters/archive';
import { PgIngestStore } from '../lib/adapters/pg/ingest-store';
import { migrate } from '../lib/adapters/pg/migrate';
import { StaticWriterSchemas } from '../lib/adapters/schema-registry';
import { archiveEligibleSagas } from '../lib/archive/archive';
import { TERMINAL_STATUSES } from '../lib/domain/saga-event';
import { ingestRecords } from '../lib/ingest/ingest';
import type { KafkaRecord } from '../lib/ingest/kafka-event';
import { localLambdaContext, toApiGatewayEvent } from '../local/api-gateway';
import { startLocalPostgres } from '../local/postgres';
import { sagaTrackerSchema } from '../schemas';
import { encodeAvro, kafkaRecord, partitionOf, SAGA_TRACKER_SCHEMA_ID } from '../test/support/kafka';
import { startLocalS3 } from '../test/support/s3-server';
import type { StepSpec } from '../test/support/sagas';
import { sagaEvents } from '../test/support/sagas';

const { values } = parseArgs({
  options: {
    sagas: { type: 'string', default: '100000' },
    reads: { type: 'string', default: '1000' },
    'chunk-size': { type: 'string', default: '5000' },
    'gzip-level': { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '2' },
  },
});
const SAGAS = Number(values.sagas);
const READS = Number(values.reads);
const CHUNK_SIZE = Number(values['chunk-size']);
const GZIP_LEVEL = Number(values['gzip-level']);
const CONCURRENCY = Number(values.concurrency);
const BUCKET = 'saga-archive-bench';
const DAY = 86_400_000;
const NOW = Date.now();

const COMPLETED: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVED', status: 'IN_PROGRESS', service: 'product' },
  { step: 'PAYMENT_INITIALIZATION', status: 'IN_PROGRESS', service: 'payment' },
  { step: 'PAYMENT_COMPLETED', status: 'COMPLETED', service: 'payment' },
  { step: 'ORDER_CONFIRMED', status: 'COMPLETED', service: 'order' },
];
const COMPENSATED: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVED', status: 'IN_PROGRESS', service: 'product' },
  {
    step: 'PAYMENT_FAILED',
    status: 'FAILED',
    service: 'payment',
    metadata: { failureReason: 'CARD_DECLINED' },
  },
  { step: 'STOCK_RELEASED', status: 'COMPENSATED', service: 'product' },
  { step: 'COMPENSATION_ORDER', status: 'COMPENSATED', service: 'order' },
];

/**
 * Saga i's five events: 9 in 10 complete, 1 in 10 fails and is compensated, spread over 30 days past
 * retention (or, `hot`, over the last 30 days).
 */
function eventsOf(index: number, hot = false) {
  const sagaId = `bench-${hot ? 'hot-' : ''}${index.toString(36).padStart(6, '0')}-${(index * 2_654_435_761) % 1_000_003}`;
  return sagaEvents(index % 10 === 7 ? COMPENSATED : COMPLETED, {
    sagaId,
    sagaType: index % 3 === 0 ? 'PAYMENT_COMPLETION' : 'ORDER_CREATION',
    start: NOW - (hot ? 1 : 91) * DAY - (index % 30) * DAY - ((index * 7_919) % DAY),
    gap: 850 + (index % 400),
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function load(pool: pg.Pool, count = SAGAS, hot = false): Promise<number> {
  const deps = {
    schemas: new StaticWriterSchemas({ [SAGA_TRACKER_SCHEMA_ID]: sagaTrackerSchema() }),
    store: new PgIngestStore(pool),
  };
  const SAGAS_PER_BATCH = 1_000;
  let offset = 0;
  let steps = 0;
  // Two batches in flight: the ingest path runs one transaction per batch, as the consume function does.
  const inFlight = new Set<Promise<void>>();
  for (let first = 0; first < count; first += SAGAS_PER_BATCH) {
    const records: KafkaRecord[] = [];
    for (let index = first; index < Math.min(count, first + SAGAS_PER_BATCH); index++) {
      for (const event of eventsOf(index, hot)) {
        records.push(
          kafkaRecord(encodeAvro(event), {
            partition: partitionOf(event.sagaId, 3),
            offset: offset++,
            key: event.sagaId,
            headers: { 'producer-service': 'order' },
          }),
        );
      }
    }
    records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    const batch = ingestRecords(records, deps).then((result) => {
      if (result.summary.deadLettered > 0) throw new Error('bench events were dead-lettered');
      steps += result.summary.inserted;
    });
    const tracked = batch.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= 2) await Promise.race(inFlight);
    if ((first / SAGAS_PER_BATCH) % 10 === 9)
      process.stdout.write(`  loaded ${first + SAGAS_PER_BATCH} sagas\r`);
  }
  await Promise.all(inFlight);
  return steps;
}

async function main(): Promise<void> {
  console.log(
    `archive benchmark: ${SAGAS} sagas, chunk ${CHUNK_SIZE}, gzip level ${GZIP_LEVEL}, ${CONCURRENCY} objects at once`,
  );
  const server = await startLocalPostgres();
  const s3 = await startLocalS3([BUCKET]);
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  try {
    await migrate({ databaseUrl: server.url });

    let started = performance.now();
    const steps = await load(pool);
    const loadSeconds = (performance.now() - started) / 1000;
    console.log(
      `loaded ${SAGAS} sagas / ${steps} steps through the ingest path in ${fmt(loadSeconds)} s (${fmt(steps / loadSeconds, 0)} events/s)`,
    );
    await pool.query('VACUUM ANALYZE');

    const stack = createArchiveStack(pool, s3.client, BUCKET);
    started = performance.now();
    const report = await archiveEligibleSagas(
      { store: stack.store, storage: stack.storage, reader: stack.reader },
      {
        rules: { defaultRule: { retentionDays: 90, statuses: TERMINAL_STATUSES }, byType: {} },
        prefix: 'sagas',
        chunkSize: CHUNK_SIZE,
        timeBudgetMs: 3_600_000,
        gzipLevel: GZIP_LEVEL,
        leaseMs: 3_700_000,
        objectConcurrency: CONCURRENCY,
      },
    );
    const archiveSeconds = (performance.now() - started) / 1000;
    if (report.archived !== SAGAS || report.remaining !== 0)
      throw new Error(`archived ${report.archived}, ${report.remaining} remaining: expected all ${SAGAS}`);
    console.log(
      `archived ${report.archived} sagas / ${report.steps} steps into ${report.objects} objects in ${fmt(archiveSeconds)} s`,
    );
    console.log(`  sagas/s:          ${fmt(report.archived / archiveSeconds, 0)}`);
    console.log(
      `  bytes per saga:   ${fmt(report.bytes / report.archived)} compressed (${fmt(report.rawBytes / report.archived)} as NDJSON)`,
    );
    console.log(`  total:            ${fmt(report.bytes / 1_048_576, 2)} MiB in S3`);

    const { rows } = await pool.query<{ saga_id: string }>(
      'SELECT saga_id FROM saga_archive_index ORDER BY random() LIMIT $1',
      [READS],
    );
    const ids = rows.map((row) => row.saga_id);
    const locations = await stack.index.locate(ids);
    // Warm up connections and the JIT before measuring.
    for (const location of locations.slice(0, 20)) await stack.reader.readAt(location);
    const rangedOnly: number[] = [];
    for (const location of locations) {
      const t0 = performance.now();
      const saga = await stack.reader.readAt(location);
      rangedOnly.push(performance.now() - t0);
      if (saga.steps.length !== saga.saga.step_count)
        throw new Error(`saga ${location.sagaId} read back incomplete`);
    }
    const withIndex: number[] = [];
    for (const sagaId of ids) {
      const t0 = performance.now();
      await stack.reader.readArchivedSaga(sagaId);
      withIndex.push(performance.now() - t0);
    }
    for (const [label, samples] of [
      ['ranged GET + gunzip + verify', rangedOnly],
      ['index lookup + the above', withIndex],
    ] as const) {
      const sorted = [...samples].sort((a, b) => a - b);
      console.log(
        `read one archived saga (${label}), ${sorted.length} reads: p50 ${fmt(percentile(sorted, 50), 2)} ms, p95 ${fmt(percentile(sorted, 95), 2)} ms, p99 ${fmt(percentile(sorted, 99), 2)} ms`,
      );
    }
    await measureApi(pool, s3.client, ids);
  } finally {
    await pool.end();
    await s3.close();
    await server.stop();
  }
}

function printPercentiles(label: string, samples: readonly number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(
    `  ${label.padEnd(66)} p50 ${fmt(percentile(sorted, 50), 2)} ms  p99 ${fmt(percentile(sorted, 99), 2)} ms  (${sorted.length})`,
  );
}

/** Archived sagas and searches over hot and archived sagas through the real API handler. */
async function measureApi(pool: pg.Pool, s3: S3Client, archivedIds: readonly string[]): Promise<void> {
  const hotSagas = Math.max(1_000, Math.floor(SAGAS / 10));
  await load(pool, hotSagas, true);
  await pool.query('VACUUM ANALYZE');
  const handler = createApiHandler(
    wireApi({
      logger: new Logger({ logLevel: 'SILENT' }),
      pool,
      archive: { s3, bucket: BUCKET },
      replaySchemas: () => new StaticWriterSchemas({}),
      maxClockSkewSeconds: 86_400,
    }),
  );
  const context = localLambdaContext('saga-tracker-api');
  const request = async (url: string): Promise<{ ms: number; body: { nextCursor?: string | null } }> => {
    const t0 = performance.now();
    const result = (await handler(
      toApiGatewayEvent({ method: 'GET', url }),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    const ms = performance.now() - t0;
    if (result.statusCode !== 200) throw new Error(`${url} answered ${result.statusCode}: ${result.body}`);
    return { ms, body: JSON.parse(result.body ?? '{}') };
  };
  const times = async (urls: readonly string[]) => {
    for (const url of urls.slice(0, 20)) await request(url);
    const samples: number[] = [];
    for (const url of urls) samples.push((await request(url)).ms);
    return samples;
  };
  const repeat = (count: number, url: string) => Array.from({ length: count }, () => url);
  console.log(`\nthrough the API handler (${hotSagas} hot sagas beside the ${SAGAS} archived):`);
  const sample = archivedIds.slice(0, Math.min(archivedIds.length, 500));
  printPercentiles(
    'GET /sagas/{id} of an archived saga',
    await times(sample.map((id) => `/api/v1/sagas/${id}`)),
  );
  printPercentiles(
    'GET /sagas/{id}/steps of an archived saga',
    await times(sample.map((id) => `/api/v1/sagas/${id}/steps`)),
  );
  const search = '/api/v1/sagas?includeArchived=true&size=20';
  printPercentiles('search includeArchived, first page', await times(repeat(200, search)));
  printPercentiles(
    'search includeArchived status=COMPENSATED, first page',
    await times(repeat(200, `${search}&status=COMPENSATED`)),
  );
  printPercentiles(
    'search includeArchived, offset page 50 (with totalElements)',
    await times(repeat(100, `${search}&page=50`)),
  );
  for (const filter of ['', '&status=COMPENSATED']) {
    let cursor: string | null | undefined;
    const urls: string[] = [];
    for (let page = 0; page < 60; page++) {
      const url = `${search}${filter}${cursor ? `&cursor=${cursor}` : ''}`;
      urls.push(url);
      cursor = (await request(url)).body.nextCursor;
      if (!cursor) break;
    }
    const deepest = urls.slice(-10);
    printPercentiles(
      `search includeArchived${filter}, cursor pages ${urls.length - deepest.length}-${urls.length - 1}`,
      await times(deepest.flatMap((url) => repeat(20, url))),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
