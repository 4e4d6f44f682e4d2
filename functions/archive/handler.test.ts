import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { parseEnv } from '../../lib/config';
import { archiveEnvSchema, toArchiveConfig } from '../../lib/config/archive';
import {
  ARCHIVE_BUCKET,
  ARCHIVE_NOW,
  archivedSagaIds,
  hotSagaIds,
  ingestSagas,
  useArchiveTestBed,
  variedSeeds,
} from '../../test/support/archive';
import { lambdaContext } from '../../test/support/consume';
import { createArchiveHandler, InvalidArchivePayloadError } from './handler';

const bed = useArchiveTestBed();

function context(remainingMs = 900_000): Context {
  return { ...lambdaContext('saga-tracker-archive'), getRemainingTimeInMillis: () => remainingMs };
}

function archiveFunction(env: Record<string, string> = {}) {
  const logger = new Logger({ serviceName: 'archive-test', logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'SagaTrackerTest', serviceName: 'archive-test', logger });
  const logged = jest.spyOn(logger, 'info');
  const recorded = jest.spyOn(metrics, 'addMetric');
  const handler = createArchiveHandler({
    logger,
    metrics,
    config: toArchiveConfig(parseEnv(archiveEnvSchema, { ARCHIVE_BUCKET, ...env })),
    run: {
      store: bed.archive.stack.store,
      storage: bed.archive.stack.storage,
      reader: bed.archive.stack.reader,
      now: () => ARCHIVE_NOW,
    },
    restore: { reader: bed.archive.stack.reader, index: bed.archive.stack.index },
    verify: { store: bed.archive.stack.store, storage: bed.archive.stack.storage },
  });
  const errors = jest.spyOn(logger, 'error');
  const metricValues = () =>
    Object.fromEntries(recorded.mock.calls.map(([name, , value]) => [name, value] as [string, unknown]));
  return { handler, logged, errors, metricValues };
}

describe('archive handler', () => {
  it('archives on a plain scheduled invocation and returns, logs and records the same report', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(12));
    const { handler, logged, metricValues } = archiveFunction({ ARCHIVE_CHUNK_SIZE: '5' });

    const response = await handler({}, context());

    expect(response).toEqual(
      expect.objectContaining({
        action: 'archive',
        archived: 12,
        remaining: 0,
        skipped: 0,
        stoppedBy: 'done',
      }),
    );
    if (response.action !== 'archive') throw new Error('an archive report');
    expect(logged).toHaveBeenCalledWith('archiver run finished', expect.objectContaining({ archived: 12 }));
    expect(metricValues()).toEqual(
      expect.objectContaining({
        SagasArchived: 12,
        ArchiveObjectsWritten: response.objects,
        ArchiveBytes: response.bytes,
        ArchiveSagasRemaining: 0,
      }),
    );
    expect(response.objects).toBeGreaterThan(1);
    expect(await hotSagaIds(bed.db.pool)).toEqual([]);
  });

  it('accepts overrides in the schedule payload', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(12));
    const { handler } = archiveFunction();

    const response = await handler({ limit: 4, chunkSize: 2, sagaTypes: ['ORDER_CREATION'] }, context());

    expect(response).toEqual(
      expect.objectContaining({ archived: 4, stoppedBy: 'limit', archivedByType: { ORDER_CREATION: 4 } }),
    );
  });

  it('does a dry run from an EventBridge scheduled event and changes nothing', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(6));
    const { handler, metricValues } = archiveFunction();

    const response = await handler(
      { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: { dryRun: true } },
      context(),
    );

    expect(response).toEqual(expect.objectContaining({ stoppedBy: 'dry-run', archived: 0, remaining: 6 }));
    // A dry run archives nothing, so it records no archive counts.
    expect(metricValues()).not.toHaveProperty('SagasArchived');
    expect(await hotSagaIds(bed.db.pool)).toHaveLength(6);
  });

  it('starts no chunk when the Lambda has less time left than the safety margin', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(3));
    const { handler } = archiveFunction({ ARCHIVE_SAFETY_MARGIN_MS: '60000' });

    const response = await handler({}, context(45_000));

    expect(response).toEqual(
      expect.objectContaining({ stoppedBy: 'time-budget', archived: 0, remaining: 3 }),
    );
  });

  it.each([
    [{ dryrun: true }, /Unrecognized key.*dryrun/],
    [{ limit: 0 }, /limit/],
    [{ action: 'purge' }, /action/],
    [{ action: 'restore', sagaIds: [] }, /sagaIds/],
    [[1, 2], /invalid archiver payload/],
  ])('refuses the payload %j, naming what is wrong, and archives nothing', async (payload, message) => {
    await ingestSagas(bed.db.pool, variedSeeds(2));
    const { handler } = archiveFunction();

    const attempt = handler(payload, context());

    await expect(attempt).rejects.toThrow(InvalidArchivePayloadError);
    await expect(handler(payload, context())).rejects.toThrow(message);
    expect(await hotSagaIds(bed.db.pool)).toHaveLength(2);
  });

  it('restores named sagas on request', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(3));
    const { handler } = archiveFunction();
    await handler({}, context());

    const response = await handler({ action: 'restore', sagaIds: ['saga-00001', 'nope'] }, context());

    expect(response).toEqual({
      action: 'restore',
      requested: 2,
      restored: ['saga-00001'],
      notArchived: ['nope'],
      failed: [],
    });
    expect(await hotSagaIds(bed.db.pool)).toEqual(['saga-00001']);
    expect(await archivedSagaIds(bed.db.pool)).toEqual(['saga-00000', 'saga-00002']);
  });

  it('verifies archived objects whole and reports the damaged ones', async () => {
    await ingestSagas(bed.db.pool, variedSeeds(30));
    const { handler, errors, metricValues } = archiveFunction({ ARCHIVE_CHUNK_SIZE: '10' });
    const archived = await handler({}, context());
    if (archived.action !== 'archive') throw new Error('an archive report');
    const { rows } = await bed.db.pool.query<{ object_key: string }>(
      `SELECT object_key FROM saga_archive_object ORDER BY object_key LIMIT 1`,
    );
    const damagedKey = rows[0]?.object_key ?? '';
    const [member] = await bed.archive.stack.index.locate(
      (
        await bed.db.pool.query('SELECT saga_id FROM saga_archive_index WHERE object_key = $1 LIMIT 1', [
          damagedKey,
        ])
      ).rows.map((row) => row.saga_id),
    );
    const body = await bed.archive.stack.storage.getRange(damagedKey, 0, 1 << 30);
    if (!body || !member) throw new Error('an object with a saga in it');
    body[member.byteOffset + 3] = (body[member.byteOffset + 3] ?? 0) ^ 0x10;
    await bed.s3.client.send(new PutObjectCommand({ Bucket: ARCHIVE_BUCKET, Key: damagedKey, Body: body }));

    const response = await handler({ action: 'verify', limit: 1000 }, context());

    expect(response).toEqual({
      action: 'verify',
      checked: archived.objects,
      intact: archived.objects - 1,
      damaged: [
        {
          objectKey: damagedKey,
          problems: [
            'SHA-256 of the object does not match',
            `saga ${member.sagaId}: its member does not match the index`,
          ],
        },
      ],
    });
    expect(errors).toHaveBeenCalledWith(
      'archived object is damaged',
      expect.objectContaining({ objectKey: damagedKey }),
    );
    expect(metricValues()).toEqual(expect.objectContaining({ ArchiveObjectsDamaged: 1 }));
    const verified = await bed.db.pool.query(
      'SELECT object_key FROM saga_archive_object WHERE verified_at IS NULL ORDER BY object_key',
    );
    expect(verified.rows).toEqual([{ object_key: damagedKey }]);
  });
});
