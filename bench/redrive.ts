import { parseArgs } from 'node:util';
import pg from 'pg';
import { withClient } from '../lib/adapters/pg/client';
import { PgIngestStore } from '../lib/adapters/pg/ingest-store';
import { migrate } from '../lib/adapters/pg/migrate';
import { S3DeadLetterBucket } from '../lib/adapters/s3-dead-letter-bucket';
import { StaticWriterSchemas } from '../lib/adapters/schema-registry';
import { ingestRecords } from '../lib/ingest/ingest';
import { parseRedriveOptions } from '../lib/redrive/options';
import { redrive } from '../lib/redrive/redrive';
import { FAST_UNSAFE_SETTINGS, startLocalPostgres } from '../local/postgres';
import { sagaTrackerSchema } from '../schemas';
import { encodeAvro, kafkaEvent, kafkaRecord, type ProducedEvent, partitionOf } from '../test/support/kafka';
import { putOnFailureRecord } from '../test/support/on-failure';
import { SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Schema, sagaTrackerV2Type } from '../test/support/redrive';
import { startLocalS3 } from '../test/support/s3-server';
import { ORDER_CREATION_STEPS, sagaEvents } from '../test/support/sagas';

/**
 * `npm run bench:redrive -- [--dead-letters N] [--objects N] [--records N] [--batch-size N]`
 * Seeds N table dead letters (values written with a schema the tracker does
 * not know yet) and S3 on-failure batches, then times redriving both on a
 * local PostgreSQL and S3 server.
 */
const { values } = parseArgs({
  options: {
    'dead-letters': { type: 'string', default: '10000' },
    objects: { type: 'string', default: '20' },
    records: { type: 'string', default: '500' },
    'batch-size': { type: 'string', default: '500' },
  },
});
const deadLetters = Number(values['dead-letters']);
const objects = Number(values.objects);
const recordsPerObject = Number(values.records);
const batchSize = Number(values['batch-size']);

function events(count: number, prefix: string): ProducedEvent[] {
  const all: ProducedEvent[] = [];
  for (let saga = 0; all.length < count; saga++) {
    all.push(
      ...sagaEvents(ORDER_CREATION_STEPS, {
        sagaId: `${prefix}-${saga}`,
        start: Date.UTC(2026, 10, 1) + saga,
      }),
    );
  }
  return all.slice(0, count);
}

const offsets = new Map<number, number>();
function recordOf(event: ProducedEvent, value: Buffer) {
  const partition = partitionOf(event.sagaId, 3);
  const offset = offsets.get(partition) ?? 0;
  offsets.set(partition, offset + 1);
  return kafkaRecord(value, {
    partition,
    offset,
    key: event.sagaId,
    headers: { 'producer-service': 'order' },
  });
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

async function main(): Promise<void> {
  const server = await startLocalPostgres({ settings: FAST_UNSAFE_SETTINGS });
  const s3 = await startLocalS3(['bench-dlq']);
  const url = server.url.replace(/\/postgres$/, '/bench');
  await withClient(server.url, (client) => client.query('CREATE DATABASE bench'));
  await migrate({ databaseUrl: url });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    const v1Only = new StaticWriterSchemas({ 1: sagaTrackerSchema() });
    const both = new StaticWriterSchemas({
      1: sagaTrackerSchema(),
      [SAGA_TRACKER_V2_SCHEMA_ID]: sagaTrackerV2Schema(),
    });

    let seeded = Date.now();
    const poisoned = events(deadLetters, 'dl').map((event) =>
      recordOf(event, encodeAvro({ ...event, channel: 'app' }, SAGA_TRACKER_V2_SCHEMA_ID, sagaTrackerV2Type)),
    );
    for (let start = 0; start < poisoned.length; start += 1000) {
      await ingestRecords(poisoned.slice(start, start + 1000), {
        schemas: v1Only,
        store: new PgIngestStore(pool),
      });
    }
    const batches = events(objects * recordsPerObject, 's3');
    for (let index = 0; index < objects; index++) {
      const slice = batches.slice(index * recordsPerObject, (index + 1) * recordsPerObject);
      await putOnFailureRecord(
        s3.client,
        'bench-dlq',
        kafkaEvent(slice.map((event) => recordOf(event, encodeAvro(event)))),
      );
    }
    console.log(
      `seeded ${deadLetters} dead letters and ${objects} objects x ${recordsPerObject} records in ${Date.now() - seeded} ms`,
    );

    const deps = { pool, schemas: both, bucket: new S3DeadLetterBucket(s3.client, 'bench-dlq'), batchSize };
    seeded = Date.now();
    const table = await redrive(parseRedriveOptions({ source: 'table', limit: 10_000 }), deps);
    const tableMs = Date.now() - seeded;
    seeded = Date.now();
    const bucket = await redrive(parseRedriveOptions({ source: 's3', limit: 10_000 }), deps);
    const bucketMs = Date.now() - seeded;

    const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000);
    console.log(
      `table: ${table.successful}/${table.requested} replayed in ${tableMs} ms (${perSecond(table.successful, tableMs)} dead letters/s, batch size ${batchSize})`,
    );
    console.log(
      `s3:    ${bucket.successful}/${bucket.requested} records of ${objects} objects replayed in ${bucketMs} ms (${perSecond(bucket.successful, bucketMs)} records/s)`,
    );
    console.log(`peak RSS ${Math.round(peakRss / 2 ** 20)} MiB`);
    if (table.failed + bucket.failed > 0) throw new Error('some dead letters failed to replay');
  } finally {
    clearInterval(sampler);
    await pool.end();
    await s3.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
