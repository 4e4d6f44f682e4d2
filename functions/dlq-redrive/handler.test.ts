import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BadRequestError } from '../../lib/errors';
import type { Telemetry } from '../../lib/telemetry';
import { consumeHandlerFor, lambdaContext } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../../test/support/fake-registry';
import { kafkaEvent, recordsFor } from '../../test/support/kafka';
import { putOnFailureRecord } from '../../test/support/on-failure';
import { emptyBucket, objectKeys, redriveDepsFor, registrySchemas } from '../../test/support/redrive';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { memoryTelemetry } from '../../test/support/telemetry';
import { createRedriveHandler } from './handler';

const BUCKET = 'saga-dlq-handler';

let db: TestDatabase;
let s3: LocalS3;
let registry: FakeRegistry;
beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([BUCKET]);
  registry = await startFakeRegistry();
});
afterAll(async () => {
  await registry.close();
  await s3.close();
  await db.drop();
});
beforeEach(async () => {
  await truncateAll(db.pool);
  await emptyBucket(s3.client, BUCKET);
});

function handlerFor(telemetry?: Telemetry) {
  const handler = createRedriveHandler({
    logger: new Logger({ serviceName: 'redrive-test', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'SagaTrackerTest', serviceName: 'redrive-test' }),
    ...(telemetry ? { telemetry } : {}),
    depsForRun: () => redriveDepsFor(db.pool, { schemas: registrySchemas(registry.url), s3, bucket: BUCKET }),
  });
  return (event: unknown, remainingMs = 60_000) =>
    handler(event, {
      ...lambdaContext('saga-tracker-dlq-redrive'),
      getRemainingTimeInMillis: () => remainingMs,
    });
}

const events = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-handler' });

describe('dlq-redrive handler', () => {
  it('records the replay outcomes and the saga transitions the replayed events caused', async () => {
    const failing = sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'saga-redrive-metrics' });
    await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(failing)));
    const metrics = memoryTelemetry();

    await handlerFor(metrics.telemetry)({ source: 's3' });

    expect(metrics.value('saga_dead_letters_redriven_total', { outcome: 'replayed' })).toBe(7);
    expect(metrics.value('saga_failed_total')).toBe(1);
    expect(metrics.value('saga_compensated_total')).toBe(1);
    expect(metrics.value('saga_tracker_invocations_total', { outcome: 'success' })).toBe(1);
  });

  it('replays the batches in the bucket and returns the report', async () => {
    const key = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(events)));

    const report = await handlerFor()({ source: 'both' });

    expect(report).toEqual(
      expect.objectContaining({
        dryRun: false,
        requested: 7,
        successful: 7,
        failed: 0,
        skipped: 0,
        errors: [],
      }),
    );
    expect(report.results[0]).toEqual({
      id: expect.stringContaining(`s3://${BUCKET}/${key}#c4ang.saga.tracker-`),
      source: 's3',
      eventId: events[0]?.eventId,
      status: 'REPLAYED',
      reason: null,
      record: expect.any(String),
    });
    expect(report).not.toHaveProperty('sagaChanges');
    expect(await objectKeys(s3.client, BUCKET)).toEqual([`redriven/${key}`]);
  });

  it.each([
    [{ limit: -1 }, 'limit'],
    [{ source: 'sqs' }, 'source'],
    [{ eventIds: 'e-1' }, 'eventIds'],
    [{ dryrun: true }, 'unknown option "dryrun"'],
    ['replay everything', 'expected object'],
  ])('fails the invocation on %j with a message naming %s', async (event, name) => {
    const invocation = handlerFor()(event);

    await expect(invocation).rejects.toBeInstanceOf(BadRequestError);
    await expect(invocation).rejects.toThrow(name);
  });

  it('stops before starting work when the invocation is about to time out', async () => {
    await consumeHandlerFor(db.pool)(kafkaEvent(recordsFor(events)));
    await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(events)));

    const report = await handlerFor()({}, 5_000);

    expect(report).toEqual(expect.objectContaining({ requested: 0, incomplete: true }));
    expect(report.errors).toEqual(['stopped early: out of time; run again to continue']);
  });
});
