import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { restoreArchivedSagas } from '../../lib/archive/restore';
import type { ArchiveRules } from '../../lib/config/archive';
import { ArchiveIntegrityError } from '../../lib/errors';
import { type ApiAnswer, apiClientFor } from '../../test/support/api';
import {
  ARCHIVE_BUCKET,
  ARCHIVE_NOW,
  type ArchiveHarness,
  archivedSagaIds,
  archiveHarness,
  daysAgo,
  hotSagaIds,
  ingestEvents,
  ingestSagas,
  rawRows,
  STILL_RUNNING,
  seedEvents,
  variedSeeds,
} from '../../test/support/archive';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { emptyBucket } from '../../test/support/redrive';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';
import { PAYMENT_FAILURE_STEPS } from '../../test/support/sagas';
import { startTcpProxy } from '../../test/support/tcp-proxy';
import { memoryTelemetry } from '../../test/support/telemetry';

/**
 * Archived sagas through the real API handler (wired by wireApi as in
 * functions/api/index.ts), the real archiver, the real S3 SDK against the
 * local S3 server, and PostgreSQL.
 */

const NOW = new Date(ARCHIVE_NOW);
const ALL_STATUSES_RULES: ArchiveRules = {
  defaultRule: {
    retentionDays: 90,
    statuses: ['STARTED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'COMPENSATED'],
  },
  byType: {},
};

let db: TestDatabase;
let s3: LocalS3;
let archive: ArchiveHarness;
let call: ReturnType<typeof apiClientFor>;

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([ARCHIVE_BUCKET]);
  archive = archiveHarness(db.pool, s3);
  call = apiClientFor(db.pool, { archive: { s3: s3.client, bucket: ARCHIVE_BUCKET }, now: () => NOW });
});
afterAll(async () => {
  await s3.close();
  await db.drop();
});

async function reset(): Promise<void> {
  await truncateAll(db.pool);
  await emptyBucket(s3.client, ARCHIVE_BUCKET);
}

async function ok(method: string, url: string, body?: unknown): Promise<ApiAnswer> {
  const answer = await call(method, url, body === undefined ? {} : { body });
  if (answer.status !== 200) throw new Error(`${method} ${url} → ${answer.status}: ${answer.text}`);
  return answer;
}

/** An operator forces the status through the API; the override is then dated back so the saga stays eligible. */
async function overrideStatus(sagaId: string, status: string, reason: string): Promise<void> {
  await ok('PATCH', `/internal/v1/sagas/${sagaId}/status`, { status, reason });
}

/**
 * The override stamps now() on the saga; an archiver run "on" ARCHIVE_NOW
 * would find it too young. Dates the overrides an hour (and a few
 * microseconds) after the saga's last step, in their order.
 */
async function dateOverridesBack(sagaIds: readonly string[]): Promise<void> {
  await db.pool.query(
    `UPDATE saga_status_override o
     SET overridden_at = s.last_recorded_at + interval '1 hour' + o.id * interval '1 minute' + interval '123 microseconds'
     FROM saga_instance s WHERE s.saga_id = o.saga_id AND o.saga_id = ANY ($1)`,
    [sagaIds],
  );
  await db.pool.query(
    `UPDATE saga_instance s
     SET updated_at = o.latest, status_overridden_at = o.latest
     FROM (SELECT saga_id, max(overridden_at) AS latest FROM saga_status_override GROUP BY saga_id) o
     WHERE o.saga_id = s.saga_id AND s.saga_id = ANY ($1)`,
    [sagaIds],
  );
}

interface Captured {
  readonly saga: string;
  readonly steps: string;
}

async function capture(sagaIds: readonly string[]): Promise<Map<string, Captured>> {
  const answers = new Map<string, Captured>();
  for (const sagaId of sagaIds) {
    const saga = await ok('GET', `/api/v1/sagas/${sagaId}`);
    const steps = await ok('GET', `/api/v1/sagas/${sagaId}/steps`);
    answers.set(sagaId, { saga: saga.text, steps: steps.text });
  }
  return answers;
}

async function archivedAtOf(): Promise<Map<string, string>> {
  const { rows } = await db.pool.query<{ saga_id: string; archived_at: Date }>(
    'SELECT saga_id, archived_at FROM saga_archive_index',
  );
  return new Map(rows.map((row) => [row.saga_id, row.archived_at.toISOString()]));
}

/** The hot answer with `archived` and `archivedAt` set: the keys keep their places, so the text is comparable. */
function asArchived(hotText: string, archivedAt: string): string {
  return JSON.stringify({ ...JSON.parse(hotText), archived: true, archivedAt });
}

describe('GET a saga and its steps once archived', () => {
  const seeds = variedSeeds(90, { prefix: 'byte' });
  const ids = seeds.map((seed) => seed.sagaId);
  const overridden = ['byte-00004', 'byte-00010', 'byte-00011'];
  let before: Map<string, Captured>;
  let objects = 0;

  beforeAll(async () => {
    await reset();
    await ingestSagas(db.pool, seeds);
    await overrideStatus('byte-00004', 'COMPENSATED', 'refund confirmed by the payment provider');
    await overrideStatus('byte-00004', 'COMPLETED', 'the refund was reversed');
    await overrideStatus('byte-00010', 'FAILED', 'stock never arrived');
    await overrideStatus('byte-00011', 'COMPLETED', 'delivered, producer event lost');
    await dateOverridesBack(overridden);
    before = await capture(ids);

    const report = await archive.run({ chunkSize: 20 });
    expect(report).toEqual(expect.objectContaining({ archived: 90, skipped: 0 }));
    objects = report.objects;
  });

  it('answers byte for byte what it answered before archiving, with archived and archivedAt, across many objects', async () => {
    expect(objects).toBeGreaterThanOrEqual(12);
    expect(await hotSagaIds(db.pool)).toEqual([]);
    const archivedAt = await archivedAtOf();
    const after = await capture(ids);
    for (const sagaId of ids) {
      const hot = before.get(sagaId) as Captured;
      const cold = after.get(sagaId) as Captured;
      const at = archivedAt.get(sagaId) as string;
      expect(JSON.parse(hot.saga)).toEqual(expect.objectContaining({ archived: false, archivedAt: null }));
      expect({ sagaId, saga: cold.saga }).toEqual({ sagaId, saga: asArchived(hot.saga, at) });
      expect({ sagaId, steps: cold.steps }).toEqual({ sagaId, steps: asArchived(hot.steps, at) });
    }
  });

  it('keeps the operators’ status-override audit, which the delete of the hot rows would have cascaded away', async () => {
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM saga_status_override');
    expect(rows[0].n).toBe(0);
    const steps = (await ok('GET', '/api/v1/sagas/byte-00004/steps')).body;
    expect(steps.archived).toBe(true);
    expect(steps.statusOverrides.map((entry: { status: string }) => entry.status)).toEqual([
      'COMPENSATED',
      'COMPLETED',
    ]);
    expect(steps.statusOverrides[0]).toEqual(
      expect.objectContaining({
        reason: 'refund confirmed by the payment provider',
        principal: 'arn:aws:sts::123456789012:assumed-role/saga-operator/alice',
        previousStatus: 'COMPLETED',
      }),
    );
    const saga = (await ok('GET', '/api/v1/sagas/byte-00004')).body;
    expect(saga.statusOverriddenAt).toBe(steps.statusOverrides[1].overriddenAt);
    // In the line: status_overrides only where there are some, so other lines are as they always were.
    const keysOf = async (sagaId: string) =>
      Object.keys(JSON.parse((await archive.stack.reader.readArchivedLine(sagaId))?.text ?? '{}'));
    expect(await keysOf('byte-00004')).toEqual(['archive_format', 'saga', 'steps', 'status_overrides']);
    expect(await keysOf('byte-00005')).toEqual(['archive_format', 'saga', 'steps']);
  });

  it('refuses to force the status of an archived saga, pointing to the restore', async () => {
    const answer = await call('PATCH', '/internal/v1/sagas/byte-00001/status', {
      body: { status: 'FAILED', reason: 'checking' },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toBe('CONFLICT');
    expect(answer.body.message).toMatch(/saga byte-00001 is archived .*restore/);
    const unknown = await call('PATCH', '/internal/v1/sagas/never-seen/status', {
      body: { status: 'FAILED', reason: 'checking' },
    });
    expect(unknown.status).toBe(404);
  });

  it('answers 404 for a saga neither hot nor archived', async () => {
    const answer = await call('GET', '/api/v1/sagas/never-seen');
    expect(answer.status).toBe(404);
    expect((await call('GET', '/api/v1/sagas/never-seen/steps')).status).toBe(404);
  });
});

describe('restoring archived sagas (the archiver’s restore action)', () => {
  it('brings back the status-override audit with the saga and its steps, exactly', async () => {
    await reset();
    const seeds = variedSeeds(6, { prefix: 'restore' });
    const ids = seeds.map((seed) => seed.sagaId);
    await ingestSagas(db.pool, seeds);
    await overrideStatus('restore-00001', 'FAILED', 'fraud');
    await overrideStatus('restore-00001', 'COMPENSATED', 'refunded');
    await overrideStatus('restore-00002', 'COMPLETED', 'manual delivery');
    await dateOverridesBack(['restore-00001', 'restore-00002']);
    const AUDIT = 'SELECT * FROM saga_status_override ORDER BY id';
    const auditBefore = await rawRows(db.pool, AUDIT);
    const sagasBefore = await rawRows(db.pool, 'SELECT * FROM saga_instance ORDER BY saga_id');
    const answersBefore = await capture(ids);
    await archive.run();
    expect(await hotSagaIds(db.pool)).toEqual([]);

    const report = await restoreArchivedSagas({ reader: archive.stack.reader, index: archive.stack.index }, [
      'restore-00001',
      'restore-00002',
    ]);

    expect([...report.restored].sort()).toEqual(['restore-00001', 'restore-00002']);
    expect((await rawRows(db.pool, AUDIT)).rows).toEqual(auditBefore.rows);
    expect((await rawRows(db.pool, 'SELECT * FROM saga_instance ORDER BY saga_id')).rows).toEqual(
      sagasBefore.rows.filter((row) => row.saga_id === 'restore-00001' || row.saga_id === 'restore-00002'),
    );
    const answersAfter = await capture(['restore-00001', 'restore-00002']);
    for (const sagaId of ['restore-00001', 'restore-00002'])
      expect(answersAfter.get(sagaId)).toEqual(answersBefore.get(sagaId));
  });
});

describe('search with includeArchived=true', () => {
  const QUERIES = [
    '',
    'sagaType=REFUND',
    'type=PAYMENT_COMPLETION&status=COMPENSATED',
    'status=completed&sort=startedAt,asc',
    'orderId=order-mix-00007',
    'fromDate=2026-05-24&toDate=2026-05-25T05:00:00Z',
    'stuckForSeconds=86400',
    'stuckForSeconds=86400&sort=updatedAt,asc',
    'sort=updatedAt,asc',
    'sort=updatedAt,desc&sagaType=ORDER_CREATION',
  ];
  const SIZE = 7;
  /** Every page of every query, answered while every saga was hot. */
  const hotPages = new Map<string, Array<{ content: Array<Record<string, unknown>>; page: unknown }>>();
  let archivedIds: Set<string>;

  function url(query: string, extra: string): string {
    return `/api/v1/sagas?${[query, extra].filter((part) => part !== '').join('&')}`;
  }

  beforeAll(async () => {
    await reset();
    const seeds = [
      ...variedSeeds(60, { prefix: 'mix' }),
      // Old and still running: archived under a rule that takes every status, still "stuck".
      ...Array.from({ length: 6 }, (_, index) => ({
        sagaId: `mix-stuck-${index}`,
        steps: STILL_RUNNING,
        start: daysAgo(125, index),
      })),
      // Too young to be archived: they stay hot.
      ...variedSeeds(9, { prefix: 'mix-young', oldestDays: 20 }),
    ];
    await ingestSagas(db.pool, seeds);
    await overrideStatus('mix-00003', 'FAILED', 'lost parcel');
    await dateOverridesBack(['mix-00003']);
    for (const query of QUERIES) {
      const pages: Array<{ content: Array<Record<string, unknown>>; page: unknown }> = [];
      for (let page = 0; ; page++) {
        const answer = await ok('GET', url(query, `size=${SIZE}&page=${page}`));
        pages.push({ content: answer.body.content, page: answer.body.page });
        if (answer.body.content.length < SIZE) break;
      }
      hotPages.set(query, pages);
    }
    // ORDER_CREATION and REFUND go to the archive (running ones too); PAYMENT_COMPLETION and the young stay hot.
    await archive.run({
      chunkSize: 15,
      rules: ALL_STATUSES_RULES,
      sagaTypes: ['ORDER_CREATION', 'REFUND'],
    });
    archivedIds = new Set(await archivedSagaIds(db.pool));
  });

  it('archived some sagas of every kind the queries select, and kept the others hot', async () => {
    expect(archivedIds.size).toBe(46);
    expect(archivedIds.has('mix-00003')).toBe(true);
    expect(archivedIds.has('mix-stuck-3')).toBe(true);
    expect((await hotSagaIds(db.pool)).length).toBe(29);
  });

  it.each(QUERIES)(
    'answers every offset page of "%s" as the hot search did before archiving',
    async (query) => {
      const pages = hotPages.get(query) ?? [];
      expect(pages.length).toBeGreaterThan(0);
      for (const [number, expected] of pages.entries()) {
        const answer = await ok('GET', url(query, `size=${SIZE}&page=${number}&includeArchived=true`));
        expect({ number, page: answer.body.page }).toEqual({ number, page: expected.page });
        const content = answer.body.content as Array<Record<string, unknown>>;
        expect(content.map((saga) => ({ ...saga, archived: false, archivedAt: null }))).toEqual(
          expected.content,
        );
        for (const saga of content) {
          expect({ sagaId: saga.sagaId, archived: saga.archived }).toEqual({
            sagaId: saga.sagaId,
            archived: archivedIds.has(saga.sagaId as string),
          });
          expect(saga.archivedAt === null).toBe(!saga.archived);
        }
      }
    },
  );

  it.each(QUERIES)('walks "%s" by cursor through hot and archived sagas alike, each once', async (query) => {
    const expected = (hotPages.get(query) ?? []).flatMap((page) => page.content.map((saga) => saga.sagaId));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const answer: ApiAnswer = await ok(
        'GET',
        url(query, `size=5&includeArchived=true${cursor ? `&cursor=${cursor}` : ''}`),
      );
      if (cursor)
        expect(answer.body.page).toEqual({ number: null, size: 5, totalElements: null, totalPages: null });
      seen.push(...answer.body.content.map((saga: { sagaId: string }) => saga.sagaId));
      cursor = answer.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expected);
  });

  it('answers an archived saga found by a search as GET answers it', async () => {
    const found = await ok('GET', '/api/v1/sagas?orderId=order-mix-00003&includeArchived=true');
    const saga = await ok('GET', '/api/v1/sagas/mix-00003');
    expect(found.body.content).toEqual([saga.body]);
    expect(saga.body).toEqual(
      expect.objectContaining({
        archived: true,
        currentStatus: 'FAILED',
        statusOverriddenAt: expect.any(String),
      }),
    );
  });

  it('leaves archived sagas out without includeArchived', async () => {
    const answer = await ok('GET', '/api/v1/sagas?size=100');
    expect(answer.body.page.totalElements).toBe(29);
    expect(answer.body.content.every((saga: { archived: boolean }) => !saga.archived)).toBe(true);
  });

  it.each([
    ['traceId=abc', 'traceId'],
    ['step=PAYMENT_FAILED', 'step'],
    ['meta.customerId=customer-7', 'meta.customerId'],
  ])('refuses %s with includeArchived=true, naming the parameter', async (filter, parameter) => {
    const answer = await call('GET', `/api/v1/sagas?${filter}&includeArchived=true`);
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe(parameter);
    expect(answer.body.message).toMatch(/cannot be combined with includeArchived/);
    expect((await call('GET', `/api/v1/sagas?${filter}`)).status).toBe(200);
  });

  it('refuses a malformed includeArchived and a cursor of a search without it', async () => {
    const bad = await call('GET', '/api/v1/sagas?includeArchived=yes');
    expect(bad.status).toBe(400);
    expect(bad.body.details.parameter).toBe('includeArchived');
    const hotCursor = (await ok('GET', '/api/v1/sagas?size=2')).body.nextCursor;
    const mixed = await call('GET', `/api/v1/sagas?size=2&includeArchived=true&cursor=${hotCursor}`);
    expect(mixed.status).toBe(400);
    expect(mixed.body.details.parameter).toBe('cursor');
  });

  it('refuses includeArchived=true when the API has no archive, and does not serve archived sagas', async () => {
    const noArchive = apiClientFor(db.pool, { now: () => NOW });
    const answer = await noArchive('GET', '/api/v1/sagas?includeArchived=true');
    expect(answer.status).toBe(400);
    expect(answer.body.details.parameter).toBe('includeArchived');
    expect(answer.body.message).toMatch(/no archive configured/);
    expect((await noArchive('GET', '/api/v1/sagas/mix-00003')).status).toBe(404);
  });
});

describe('a saga that a late event brought back from the archive', () => {
  const SAGA = 'reheat-1';
  const START = daysAgo(120);
  let archivedSteps: { steps: Array<Record<string, unknown>>; statusOverrides: unknown[] };

  beforeAll(async () => {
    await reset();
    await ingestSagas(db.pool, [{ sagaId: SAGA, start: START, steps: PAYMENT_FAILURE_STEPS }]);
    await overrideStatus(SAGA, 'FAILED', 'the compensation did not happen');
    await dateOverridesBack([SAGA]);
    await archive.run();
    archivedSteps = (await ok('GET', `/api/v1/sagas/${SAGA}/steps`)).body;
    expect(archivedSteps).toEqual(expect.objectContaining({ archived: true }));
  });

  /** Between the third and the fourth archived step in event time. */
  function lateEvent() {
    const [event] = seedEvents([
      {
        sagaId: SAGA,
        start: START,
        steps: [{ step: 'FRAUD_CHECK', status: 'IN_PROGRESS', service: 'risk' }],
      },
    ]);
    if (!event) throw new Error('one event');
    return {
      ...event,
      eventId: `${SAGA}-late`,
      recordedAt: START + 2 * 1_237 + 500,
      eventTimestamp: START + 3_000,
    };
  }

  it('lists its archived and new steps together in event-time order, and its audit from both', async () => {
    await ingestEvents(db.pool, [lateEvent()]);
    expect(await hotSagaIds(db.pool)).toEqual([SAGA]);
    await overrideStatus(SAGA, 'COMPENSATED', 'compensated by hand');

    const steps = (await ok('GET', `/api/v1/sagas/${SAGA}/steps`)).body;
    const saga = (await ok('GET', `/api/v1/sagas/${SAGA}`)).body;

    const archivedAt = (await archivedAtOf()).get(SAGA);
    expect(steps.archived).toBe(false);
    expect(steps.archivedAt).toBe(archivedAt);
    expect(steps.steps.map((step: { eventId: string }) => step.eventId)).toEqual([
      ...archivedSteps.steps.slice(0, 3).map((step) => step.eventId),
      `${SAGA}-late`,
      ...archivedSteps.steps.slice(3).map((step) => step.eventId),
    ]);
    expect(steps.steps.filter((step: { eventId: string }) => step.eventId !== `${SAGA}-late`)).toEqual(
      archivedSteps.steps,
    );
    expect(steps.statusOverrides).toEqual([
      ...archivedSteps.statusOverrides,
      expect.objectContaining({
        previousStatus: 'FAILED',
        status: 'COMPENSATED',
        reason: 'compensated by hand',
      }),
    ]);
    expect(saga).toEqual(
      expect.objectContaining({ archived: false, archivedAt, stepCount: 8, currentStatus: 'COMPENSATED' }),
    );
    expect(saga.stepCount).toBe(steps.steps.length);
    const found = await ok('GET', `/api/v1/sagas?orderId=order-${SAGA}&includeArchived=true`);
    expect(found.body.content).toEqual([saga]);
  });

  it('is archived again with the whole union, which the API then serves from S3', async () => {
    const reheated = (await ok('GET', `/api/v1/sagas/${SAGA}/steps`)).body;
    await dateOverridesBack([SAGA]);
    const whileHot = (await ok('GET', `/api/v1/sagas/${SAGA}/steps`)).body;

    const report = await archive.run();

    expect(report.archived).toBe(1);
    expect(await hotSagaIds(db.pool)).toEqual([]);
    const again = await ok('GET', `/api/v1/sagas/${SAGA}/steps`);
    const archivedAt = (await archivedAtOf()).get(SAGA) as string;
    expect(again.text).toBe(asArchived(JSON.stringify(whileHot), archivedAt));
    expect(again.body.steps).toEqual(reheated.steps);
    expect(again.body.statusOverrides).toHaveLength(2);
  });
});

describe('archived copies that are damaged or out of reach', () => {
  const SEEDS = ['dmg-1', 'dmg-2', 'dmg-3'].map((sagaId) => ({ sagaId, start: daysAgo(110) }));

  beforeAll(async () => {
    await reset();
    await ingestSagas(db.pool, SEEDS);
    await archive.run();
    expect(await archivedSagaIds(db.pool)).toEqual(['dmg-1', 'dmg-2', 'dmg-3']);
  });

  it('answers a 500 that says the archived copy failed its integrity check, logs it, and never serves wrong data', async () => {
    const logger = new Logger({ logLevel: 'SILENT' });
    const errors = jest.spyOn(logger, 'error');
    const { telemetry, value } = memoryTelemetry();
    const api = apiClientFor(db.pool, {
      archive: { s3: s3.client, bucket: ARCHIVE_BUCKET },
      logger,
      telemetry,
      now: () => NOW,
    });
    const [entry] = await archive.stack.index.locate(['dmg-2']);
    if (!entry) throw new Error('archived');
    const object = await s3.client.send(
      new GetObjectCommand({ Bucket: ARCHIVE_BUCKET, Key: entry.objectKey }),
    );
    const body = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    const flipAt = entry.byteOffset + Math.floor(entry.byteLength / 2);
    body[flipAt] = (body[flipAt] ?? 0) ^ 0x01;
    await s3.client.send(new PutObjectCommand({ Bucket: ARCHIVE_BUCKET, Key: entry.objectKey, Body: body }));

    for (const path of ['/api/v1/sagas/dmg-2', '/api/v1/sagas/dmg-2/steps']) {
      const answer = await api('GET', path);
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({
        error: 'INTERNAL_ERROR',
        message: expect.stringMatching(/^the archived copy of saga dmg-2 failed its integrity check/),
        timestamp: expect.any(String),
        path,
        details: { requestId: expect.any(String) },
      });
      expect(answer.text).not.toContain(entry.objectKey);
      expect(answer.text).not.toMatch(/saga_type=|ndjson|gzip|sha-?256|checksum/i);
    }
    expect(errors).toHaveBeenCalledWith(
      'request failed',
      expect.objectContaining({ statusCode: 500, error: expect.any(ArchiveIntegrityError) }),
    );
    // The other sagas of the object have intact members: they are served.
    expect((await api('GET', '/api/v1/sagas/dmg-1/steps')).status).toBe(200);
    expect((await api('GET', '/api/v1/sagas/nobody')).status).toBe(404);
    const reads = (outcome: string) => value('saga_tracker_archive_read_seconds_count', { outcome });
    expect([reads('integrity_error'), reads('hit'), reads('miss')]).toEqual([2, 1, 1]);
  });

  it('answers 503 while S3 is unreachable, serves hot sagas meanwhile, and recovers', async () => {
    await ingestSagas(db.pool, [{ sagaId: 'hot-1', start: daysAgo(1) }]);
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${proxy.port}`,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 2,
    });
    const { telemetry, value } = memoryTelemetry();
    const api = apiClientFor(db.pool, {
      archive: { s3: client, bucket: ARCHIVE_BUCKET },
      telemetry,
      now: () => NOW,
    });
    try {
      expect((await api('GET', '/api/v1/sagas/dmg-1')).status).toBe(200);
      proxy.cut();
      const down = await api('GET', '/api/v1/sagas/dmg-1');
      expect(down.status).toBe(503);
      expect(down.body.error).toBe('SERVICE_UNAVAILABLE');
      expect(down.body.message).toMatch(/archive storage \(S3\) is unavailable/);
      expect(down.headers['retry-after']).toBe('5');
      expect(down.text).not.toMatch(/ECONN|127\.0\.0\.1/);
      expect((await api('GET', '/api/v1/sagas/hot-1')).status).toBe(200);
      expect(value('saga_tracker_archive_read_seconds_count', { outcome: 'unavailable' })).toBe(1);
      proxy.restore();
      expect((await api('GET', '/api/v1/sagas/dmg-1')).status).toBe(200);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
});
