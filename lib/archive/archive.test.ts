import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ARCHIVE_BUCKET,
  ARCHIVE_NOW,
  archivedSagaIds,
  DEFAULT_RULES,
  daysAgo,
  hotSagaIds,
  inArchivedForm,
  ingestEvents,
  ingestSagas,
  rawRows,
  STILL_RUNNING,
  useArchiveTestBed,
  variedSeeds,
} from '../../test/support/archive';
import { sagaEvents } from '../../test/support/sagas';
import { ArchiveIntegrityError } from '../errors';

const bed = useArchiveTestBed();
// Tables are emptied by the test bed; the bucket is emptied here.
beforeEach(async () => {
  const listed = await bed.s3.client.send(new ListObjectsV2Command({ Bucket: ARCHIVE_BUCKET }));
  for (const object of listed.Contents ?? []) {
    if (object.Key) await bed.archive.stack.storage.deleteObject(object.Key);
  }
});

async function bucketKeys(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await bed.s3.client.send(
      new ListObjectsV2Command({ Bucket: ARCHIVE_BUCKET, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

async function objectBytes(key: string): Promise<Buffer> {
  const answer = await bed.s3.client.send(new GetObjectCommand({ Bucket: ARCHIVE_BUCKET, Key: key }));
  return Buffer.from((await answer.Body?.transformToByteArray()) ?? []);
}

async function committedObjectKeys(): Promise<string[]> {
  const { rows } = await bed.db.pool.query<{ object_key: string }>(
    `SELECT object_key FROM saga_archive_object WHERE status = 'COMMITTED' ORDER BY object_key`,
  );
  return rows.map((row) => row.object_key);
}

/** Every saga exactly once: hot or archived, never both, never neither. */
async function expectEachSagaOnce(expected: readonly string[]): Promise<void> {
  const hot = await hotSagaIds(bed.db.pool);
  const archived = await archivedSagaIds(bed.db.pool);
  expect(hot.filter((id) => archived.includes(id))).toEqual([]);
  expect([...hot, ...archived].sort()).toEqual([...expected].sort());
}

const SAGAS_SQL = 'SELECT * FROM saga_instance WHERE saga_id = ANY ($1) ORDER BY saga_id';
const STEPS_SQL =
  'SELECT * FROM saga_steps WHERE saga_id = ANY ($1) ORDER BY saga_id, recorded_at, event_timestamp, event_id';

describe('archiving and reading back', () => {
  it('reads back every archived saga and step exactly as PostgreSQL held them, column by column', async () => {
    const seeds = variedSeeds(240);
    await ingestSagas(bed.db.pool, seeds);
    const ids = seeds.map((seed) => seed.sagaId);
    // Sub-millisecond precision must survive: timestamptz keeps microseconds that a JS Date would drop.
    await bed.db.pool.query(
      `UPDATE saga_steps SET created_at = created_at + interval '123 microseconds' WHERE id % 3 = 0`,
    );
    const sagasBefore = inArchivedForm(await rawRows(bed.db.pool, SAGAS_SQL, [ids]));
    const stepsBefore = inArchivedForm(await rawRows(bed.db.pool, STEPS_SQL, [ids]));

    const report = await bed.archive.run({ chunkSize: 40 });

    expect(report).toEqual(
      expect.objectContaining({
        archived: 240,
        steps: stepsBefore.length,
        skipped: 0,
        remaining: 0,
        stoppedBy: 'done',
      }),
    );
    expect(report.objects).toBeGreaterThanOrEqual(12);
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
    const read = await bed.archive.stack.reader.readArchivedSagas(ids);
    expect(read.size).toBe(240);
    for (const saga of sagasBefore) {
      const archived = read.get(saga.saga_id as string);
      expect(archived?.archived).toBe(true);
      expect(archived?.saga).toEqual(saga);
      expect(archived?.steps).toEqual(stepsBefore.filter((step) => step.saga_id === saga.saga_id));
    }
    expect(stepsBefore.some((step) => /\.\d*[1-9]\d{3}\+/.test(step.created_at as string))).toBe(true);
    expect(new Set([...read.values()].map((saga) => saga.objectKey)).size).toBe(report.objects);
  });

  it('writes Hive-style objects that are ordinary gzip NDJSON, one line per saga, with the S3 checksum recorded', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(30));
    await bed.archive.run({ chunkSize: 10 });

    const keys = await bucketKeys();
    expect(keys).toEqual(await committedObjectKeys());
    let lines = 0;
    for (const key of keys) {
      expect(key).toMatch(
        /^sagas\/saga_type=(ORDER_CREATION|PAYMENT_COMPLETION|REFUND)\/year=2026\/month=\d{2}\/day=\d{2}\/sagas-[0-9a-f]{32}\.ndjson\.gz$/,
      );
      const body = await objectBytes(key);
      const text = gunzipSync(body).toString('utf8');
      const objectLines = text.split('\n').filter((line) => line.length > 0);
      for (const line of objectLines) {
        const parsed = JSON.parse(line);
        expect(parsed.archive_format).toBe(1);
        expect(key).toContain(`saga_type=${parsed.saga.saga_type}/`);
        expect(parsed.steps).toHaveLength(parsed.saga.step_count);
      }
      lines += objectLines.length;
      const { rows } = await bed.db.pool.query(
        'SELECT line_count, saga_count, byte_count::int, sha256 FROM saga_archive_object WHERE object_key = $1',
        [key],
      );
      const { createHash } = await import('node:crypto');
      expect(rows[0]).toEqual({
        line_count: objectLines.length,
        saga_count: objectLines.length,
        byte_count: body.length,
        sha256: createHash('sha256').update(body).digest('base64'),
      });
    }
    expect(lines).toBe(30);
  });

  it('archives only terminal sagas past their retention, with retention and statuses per saga type', async () => {
    await ingestSagas(bed.db.pool, [
      { sagaId: 'old-order', sagaType: 'ORDER_CREATION', start: daysAgo(100) },
      { sagaId: 'young-order', sagaType: 'ORDER_CREATION', start: daysAgo(50) },
      { sagaId: 'old-running', sagaType: 'ORDER_CREATION', steps: STILL_RUNNING, start: daysAgo(200) },
      { sagaId: 'young-payment', sagaType: 'PAYMENT_COMPLETION', start: daysAgo(40) },
      { sagaId: 'fresh-payment', sagaType: 'PAYMENT_COMPLETION', start: daysAgo(20) },
      {
        sagaId: 'old-refund-failed',
        sagaType: 'REFUND',
        steps: STILL_RUNNING.concat([{ step: 'REFUND_FAILED', status: 'FAILED', service: 'payment' }]),
        start: daysAgo(400),
      },
      { sagaId: 'old-refund-done', sagaType: 'REFUND', start: daysAgo(400) },
    ]);

    const report = await bed.archive.run({
      rules: {
        defaultRule: DEFAULT_RULES.defaultRule,
        byType: {
          PAYMENT_COMPLETION: { retentionDays: 30, statuses: ['COMPLETED'] },
          REFUND: { retentionDays: 365, statuses: ['COMPLETED'] },
        },
      },
    });

    expect(await archivedSagaIds(bed.db.pool)).toEqual(['old-order', 'old-refund-done', 'young-payment']);
    expect(report.archivedByType).toEqual({ ORDER_CREATION: 1, PAYMENT_COMPLETION: 1, REFUND: 1 });
    expect(report.remaining).toBe(0);
  });

  it('changes nothing in a dry run and reports what a run would archive', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(12));

    const report = await bed.archive.run({ dryRun: true });

    expect(report).toEqual(
      expect.objectContaining({ stoppedBy: 'dry-run', archived: 0, objects: 0, remaining: 12 }),
    );
    expect(report.remainingByType).toEqual({ ORDER_CREATION: 4, PAYMENT_COMPLETION: 4, REFUND: 4 });
    expect(await hotSagaIds(bed.db.pool)).toHaveLength(12);
    expect(await bucketKeys()).toEqual([]);
  });
});

describe('crashes and concurrent changes', () => {
  it('loses and duplicates nothing when a run dies between upload and delete, and the rerun cleans up', async () => {
    const seeds = variedSeeds(90);
    await ingestSagas(bed.db.pool, seeds);
    const ids = seeds.map((seed) => seed.sagaId);
    const stepsBefore = inArchivedForm(await rawRows(bed.db.pool, STEPS_SQL, [ids]));
    let uploads = 0;

    await expect(
      bed.archive.run(
        { chunkSize: 10 },
        {
          afterUpload: async () => {
            if (++uploads === 4) throw new Error('Lambda killed');
          },
        },
      ),
    ).rejects.toThrow('Lambda killed');

    await expectEachSagaOnce(ids);
    const afterCrash = await archivedSagaIds(bed.db.pool);
    expect(afterCrash.length).toBeGreaterThan(0);
    expect(afterCrash.length).toBeLessThan(90);
    // The crashed upload is in the bucket but nothing points to it.
    expect((await bucketKeys()).length).toBe((await committedObjectKeys()).length + 1);

    const rerun = await bed.archive.run({ chunkSize: 10 });

    expect(rerun.orphansRemoved).toBe(1);
    expect(rerun.archived).toBe(90 - afterCrash.length);
    await expectEachSagaOnce(ids);
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
    expect(await bucketKeys()).toEqual(await committedObjectKeys());
    const read = await bed.archive.stack.reader.readArchivedSagas(ids);
    expect([...read.values()].flatMap((saga) => saga.steps).length).toBe(stepsBefore.length);
    for (const step of stepsBefore) {
      expect(read.get(step.saga_id as string)?.steps).toContainEqual(step);
    }
  });

  it('keeps a saga hot when an event for it arrives while it is being archived', async () => {
    const seeds = variedSeeds(20);
    await ingestSagas(bed.db.pool, seeds);
    const target = 'saga-00004';
    const late = sagaEvents([{ step: 'AUDIT_NOTE', status: 'COMPLETED', service: 'order' }], {
      sagaId: target,
      start: daysAgo(129),
    }).map((event) => ({ ...event, eventId: `${target}-late` }));
    let injected = false;

    const report = await bed.archive.run(
      { chunkSize: 100 },
      {
        afterUpload: async (_object, sagaIds) => {
          if (!injected && sagaIds.includes(target)) {
            injected = true;
            await ingestEvents(bed.db.pool, late);
          }
        },
      },
    );

    expect(injected).toBe(true);
    expect(report.skipped).toBe(1);
    expect(report.archived).toBe(19);
    expect(await hotSagaIds(bed.db.pool)).toEqual([target]);
    const { rows } = await bed.db.pool.query('SELECT step_count FROM saga_instance WHERE saga_id = $1', [
      target,
    ]);
    expect(rows[0].step_count).toBe(8);
    // Every line of every committed object is a saga the index points to: the object was rebuilt without it.
    expect(await bucketKeys()).toEqual(await committedObjectKeys());
    for (const key of await bucketKeys()) {
      expect(gunzipSync(await objectBytes(key)).toString('utf8')).not.toContain(`"saga_id":"${target}"`);
    }

    const next = await bed.archive.run();

    expect(next.archived).toBe(1);
    const archived = await bed.archive.stack.reader.readArchivedSaga(target);
    expect(archived?.steps.map((step) => step.event_id)).toContain(`${target}-late`);
    expect(archived?.steps).toHaveLength(8);
  });

  it('stops when the time budget is spent and the next run resumes where it stopped', async () => {
    const seeds = variedSeeds(60);
    await ingestSagas(bed.db.pool, seeds);
    let clock = ARCHIVE_NOW;
    // Every reading of the clock advances it a second: a chunk "takes" a few seconds, whatever the machine.
    const now = () => {
      clock += 1_000;
      return clock;
    };

    const first = await bed.archive.run({ chunkSize: 10, timeBudgetMs: 12_000 }, { now });

    expect(first.stoppedBy).toBe('time-budget');
    expect(first.archived).toBeGreaterThan(0);
    expect(first.remaining).toBe(60 - first.archived);
    await expectEachSagaOnce(seeds.map((seed) => seed.sagaId));

    let runs = 1;
    let last = first;
    while (last.stoppedBy === 'time-budget' && runs < 20) {
      last = await bed.archive.run({ chunkSize: 10, timeBudgetMs: 12_000 }, { now });
      runs++;
    }
    expect(last.stoppedBy).toBe('done');
    expect(runs).toBeGreaterThan(1);
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
    expect(await archivedSagaIds(bed.db.pool)).toHaveLength(60);
  });

  it('stops at the run limit and reports what remains', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(25));

    const report = await bed.archive.run({ chunkSize: 10, maxSagas: 15 });

    expect(report).toEqual(expect.objectContaining({ stoppedBy: 'limit', archived: 15, remaining: 10 }));
  });

  it('does nothing while another run holds the lease, and takes over a lease that expired', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(5));
    await bed.db.pool.query(
      `INSERT INTO saga_archive_lease (name, holder, expires_at) VALUES ('archiver', 'other-run', now() + interval '5 minutes')`,
    );

    const blocked = await bed.archive.run();

    expect(blocked).toEqual(expect.objectContaining({ stoppedBy: 'lease-held', archived: 0, remaining: 5 }));
    await bed.db.pool.query(`UPDATE saga_archive_lease SET expires_at = now() - interval '1 second'`);

    const after = await bed.archive.run();

    expect(after).toEqual(expect.objectContaining({ stoppedBy: 'done', archived: 5 }));
    const { rows } = await bed.db.pool.query('SELECT * FROM saga_archive_lease');
    expect(rows).toEqual([]);
  });
});

describe('damaged archives', () => {
  it('refuses to read a saga from an object whose bytes were altered, and reads its intact neighbours', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(40));
    await bed.archive.run();
    const { rows } = await bed.db.pool.query<{ victim: string; neighbour: string }>(
      `SELECT min(saga_id) AS victim, max(saga_id) AS neighbour FROM saga_archive_index
       GROUP BY object_key HAVING count(*) > 1 ORDER BY object_key LIMIT 1`,
    );
    const pair = rows[0];
    if (!pair) throw new Error('some object holds two sagas');
    const [victim] = await bed.archive.stack.index.locate([pair.victim]);
    if (!victim) throw new Error('the victim is archived');
    const body = await objectBytes(victim.objectKey);
    // Flip one byte inside the victim's member, keeping the object's length.
    const flipAt = victim.byteOffset + Math.floor(victim.byteLength / 2);
    body[flipAt] = (body[flipAt] ?? 0) ^ 0xff;
    await bed.s3.client.send(
      new PutObjectCommand({ Bucket: ARCHIVE_BUCKET, Key: victim.objectKey, Body: body }),
    );

    await expect(bed.archive.stack.reader.readArchivedSaga(pair.victim)).rejects.toThrow(
      ArchiveIntegrityError,
    );
    await expect(bed.archive.stack.reader.readArchivedSaga(pair.victim)).rejects.toThrow(
      new RegExp(`saga ${pair.victim} in sagas/.*SHA-256 of the saga member does not match`),
    );
    expect((await bed.archive.stack.reader.readArchivedSaga(pair.neighbour))?.saga.saga_id).toBe(
      pair.neighbour,
    );
  });

  it('refuses to read from a truncated or missing object', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(4));
    await bed.archive.run();
    const [entry] = await bed.archive.stack.index.locate(['saga-00000']);
    if (!entry) throw new Error('archived');
    const body = await objectBytes(entry.objectKey);
    await bed.s3.client.send(
      new PutObjectCommand({
        Bucket: ARCHIVE_BUCKET,
        Key: entry.objectKey,
        Body: body.subarray(0, entry.byteOffset + entry.byteLength - 3),
      }),
    );

    await expect(bed.archive.stack.reader.readArchivedSaga('saga-00000')).rejects.toThrow(
      /truncated or replaced/,
    );

    await bed.archive.stack.storage.deleteObject(entry.objectKey);

    await expect(bed.archive.stack.reader.readArchivedSaga('saga-00000')).rejects.toThrow(/does not exist/);
  });

  it('answers null for a saga the archive does not know', async () => {
    await expect(bed.archive.stack.reader.readArchivedSaga('never-seen')).resolves.toBeNull();
  });
});
