import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchConsumerLag } from '../../lib/adapters/cloudwatch-lag';
import { PgSagaStateSource } from '../../lib/adapters/pg/saga-state-store';
import type { ConsumerLagSource, SagaStateSource } from '../../lib/telemetry/state-gauges';
import { consumeHandlerFor, lambdaContext } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../../test/support/database';
import { kafkaEvent, kafkaRecord, recordsFor } from '../../test/support/kafka';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, sagaEvents } from '../../test/support/sagas';
import { memoryTelemetry } from '../../test/support/telemetry';
import { createStateGaugesHandler } from './handler';

const MINUTE = 60_000;
const THRESHOLDS = { stuckAfterSeconds: 1_800, uncompensatedAfterSeconds: 300 };

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
beforeEach(() => truncateAll(db.pool));

function handlerWith(state: SagaStateSource, lag?: ConsumerLagSource) {
  const metrics = memoryTelemetry();
  const logger = new Logger({ serviceName: 'state-gauges-test', logLevel: 'SILENT' });
  const warn = jest.spyOn(logger, 'warn');
  const handler = createStateGaugesHandler({
    logger,
    metrics: new Metrics({ namespace: 'SagaTrackerTest', serviceName: 'state-gauges-test' }),
    telemetry: metrics.telemetry,
    state,
    ...(lag ? { lag } : {}),
    thresholds: THRESHOLDS,
  });
  return {
    invoke: () => handler({ source: 'aws.scheduler' }, lambdaContext('saga-tracker-state-gauges')),
    metrics,
    warn,
  };
}

/** Ingests sagas in known states, timed relative to now. */
async function seedSagas(): Promise<void> {
  const now = Date.now();
  const consume = consumeHandlerFor(db.pool);
  const events = [
    // Active and recent: STARTED, one step a minute ago.
    ...sagaEvents(ORDER_CREATION_STEPS.slice(0, 1), { sagaId: 'active-started', start: now - MINUTE }),
    // IN_PROGRESS, but the last step is two hours old: stuck.
    ...sagaEvents(ORDER_CREATION_STEPS.slice(0, 2), { sagaId: 'stuck', start: now - 120 * MINUTE }),
    // FAILED ten minutes ago, no compensation: counted.
    ...sagaEvents(PAYMENT_FAILURE_STEPS.slice(0, 5), {
      sagaId: 'failed-old',
      start: now - 14 * MINUTE,
      gap: MINUTE,
    }),
    // FAILED a minute ago: still inside the 5-minute allowance.
    ...sagaEvents(PAYMENT_FAILURE_STEPS.slice(0, 5), {
      sagaId: 'failed-new',
      start: now - 5 * MINUTE,
      gap: MINUTE,
    }),
    // FAILED and COMPENSATED: fine.
    ...sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: 'compensated', start: now - 30 * MINUTE, gap: MINUTE }),
    // COMPLETED long ago: neither active nor recent.
    ...sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'done-old', start: now - 3 * 24 * 60 * MINUTE }),
  ];
  const garbage = [
    kafkaRecord(Buffer.from([0, 0, 0, 0, 1, 0xff]), { partition: 2, offset: 900 }),
    kafkaRecord(Buffer.from([9, 9, 9]), { partition: 2, offset: 901 }),
  ];
  await consume(kafkaEvent([...recordsFor(events), ...garbage]));
  // An operator already dealt with one dead letter: not pending any more.
  await db.pool.query(`UPDATE saga_dead_letter SET status = 'RESOLVED' WHERE kafka_offset = 901`);
}

describe('state-gauges handler', () => {
  it('reports active, recent, stuck and uncompensated sagas and pending dead letters from the database', async () => {
    await seedSagas();
    const { invoke, metrics } = handlerWith(new PgSagaStateSource(db.pool), { latestLag: async () => 1_234 });

    await invoke();

    expect(metrics.value('saga_tracker_up')).toBe(1);
    expect(metrics.value('saga_active_total', { status: 'STARTED' })).toBe(1);
    expect(metrics.value('saga_active_total', { status: 'IN_PROGRESS' })).toBe(1);
    expect(metrics.value('saga_stuck')).toBe(1);
    expect(metrics.value('saga_failed_uncompensated')).toBe(1);
    // failed-old's FAILED step is 10 minutes old.
    expect(metrics.value('saga_failed_uncompensated_oldest_seconds')).toBeGreaterThanOrEqual(595);
    expect(metrics.value('saga_failed_uncompensated_oldest_seconds')).toBeLessThan(900);
    expect(metrics.value('saga_recent_by_status', { status: 'FAILED' })).toBe(2);
    expect(metrics.value('saga_recent_by_status', { status: 'COMPENSATED' })).toBe(1);
    expect(metrics.value('saga_recent_by_status', { status: 'COMPLETED' })).toBe(0);
    expect(metrics.value('saga_dead_letters_pending')).toBe(1);
    expect(metrics.value('saga_dead_letters_pending', { reason: 'MALFORMED_AVRO' })).toBe(1);
    expect(metrics.value('saga_dead_letters_pending', { reason: 'INVALID_MAGIC_BYTE' })).toBe(0);
    expect(metrics.value('saga_tracker_consumer_lag')).toBe(1_234);
    expect(metrics.value('saga_tracker_db_query_seconds_count', { query: 'state_gauges' })).toBe(1);
  });

  it('reports zeros, not stale values, once the sagas are gone', async () => {
    await seedSagas();
    const { invoke, metrics } = handlerWith(new PgSagaStateSource(db.pool));
    await invoke();
    await truncateAll(db.pool);

    await invoke();

    expect(metrics.value('saga_active_total', { status: 'STARTED' })).toBe(0);
    expect(metrics.value('saga_failed_uncompensated')).toBe(0);
    expect(metrics.value('saga_failed_uncompensated_oldest_seconds')).toBe(0);
    expect(metrics.value('saga_dead_letters_pending')).toBe(0);
  });

  it('reports saga_tracker_up 0 and fails the invocation when the database is unreachable', async () => {
    const down: SagaStateSource = {
      read: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const { invoke, metrics } = handlerWith(down, { latestLag: async () => 5 });

    await expect(invoke()).rejects.toThrow('ECONNREFUSED');
    expect(metrics.value('saga_tracker_up')).toBe(0);
    expect(metrics.value('saga_tracker_invocations_total', { outcome: 'error' })).toBe(1);
  });

  it('stops reporting the lag when CloudWatch has no datapoint or fails, and goes on', async () => {
    let lag: number | null = 40;
    const source: ConsumerLagSource = {
      latestLag: async () => {
        if (lag === -1) throw new Error('AccessDenied');
        return lag;
      },
    };
    const { invoke, metrics, warn } = handlerWith(new PgSagaStateSource(db.pool), source);

    await invoke();
    expect(metrics.value('saga_tracker_consumer_lag')).toBe(40);
    lag = null;
    await invoke();
    expect(metrics.value('saga_tracker_consumer_lag')).toBe(0); // no such series any more
    lag = -1;
    await expect(invoke()).resolves.toMatchObject({ consumerLag: 'unavailable' });
    expect(warn).toHaveBeenCalledWith('consumer lag not available from CloudWatch', expect.anything());
  });
});

describe('CloudWatchConsumerLag', () => {
  const cloudWatch = mockClient(CloudWatchClient);
  afterEach(() => cloudWatch.reset());

  it('asks for the one-minute maximum of AWS/Lambda OffsetLag of the consume function', async () => {
    cloudWatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'offsetLag',
          Timestamps: [new Date('2026-11-25T09:58:00Z'), new Date('2026-11-25T09:59:00Z')],
          Values: [80, 120],
        },
      ],
    });
    const source = new CloudWatchConsumerLag(new CloudWatchClient({ region: 'ap-northeast-2' }), {
      functionName: 'saga-tracker-consume',
      now: () => new Date('2026-11-25T10:00:00Z'),
    });

    expect(await source.latestLag()).toBe(120);
    const input = cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(input).toEqual({
      StartTime: new Date('2026-11-25T09:50:00Z'),
      EndTime: new Date('2026-11-25T10:00:00Z'),
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          Id: 'offsetLag',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'OffsetLag',
              Dimensions: [{ Name: 'FunctionName', Value: 'saga-tracker-consume' }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
          ReturnData: true,
        },
      ],
    });
  });

  it('answers null when there is no recent datapoint', async () => {
    cloudWatch
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: 'offsetLag', Timestamps: [], Values: [] }] });
    const source = new CloudWatchConsumerLag(new CloudWatchClient({ region: 'ap-northeast-2' }), {
      functionName: 'saga-tracker-consume',
    });
    expect(await source.latestLag()).toBeNull();
  });
});
