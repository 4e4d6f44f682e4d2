import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { RemoteWriteClient } from '../../lib/adapters/remote-write/client';
import { type Telemetry, telemetryFromEnv } from '../../lib/telemetry';
import { PrometheusSink } from '../../lib/telemetry/prometheus-sink';
import { SeriesRegistry } from '../../lib/telemetry/registry';
import { Telemetry as TelemetryClass } from '../../lib/telemetry/telemetry';
import { consumeHandlerFor } from '../support/consume';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { kafkaEvent, recordsFor } from '../support/kafka';
import {
  type LocalPrometheus,
  type RecordingReceiver,
  startPrometheus,
  startRecordingReceiver,
} from '../support/prometheus';
import { PAYMENT_FAILURE_STEPS, sagaEvents } from '../support/sagas';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

/**
 * What happens to an invocation when the remote-write endpoint misbehaves,
 * and to series written by concurrent Lambda environments, against a real
 * Prometheus.
 */

let prometheus: LocalPrometheus;
let db: TestDatabase;

beforeAll(async () => {
  [prometheus, db] = await Promise.all([startPrometheus(), createTestDatabase()]);
});
afterAll(async () => {
  await Promise.all([prometheus?.stop(), db?.drop()]);
});

function loggerSpy(name: string) {
  const logger = new Logger({ serviceName: name, logLevel: 'SILENT' });
  return { logger, warn: jest.spyOn(logger, 'warn') };
}

function envTelemetry(url: string, instanceName: string, extra: Record<string, string> = {}) {
  const { logger, warn } = loggerSpy(instanceName);
  const telemetry = telemetryFromEnv(
    'consume',
    { logger, metrics: new Metrics({ namespace: 'SagaTrackerTest', serviceName: instanceName }) },
    { PROMETHEUS_REMOTE_WRITE_URL: url, ...extra },
  );
  return { telemetry, warn };
}

function batchOf(prefix: string, sagas: number, firstOffset = 0) {
  const events = Array.from({ length: sagas }, (_, i) =>
    sagaEvents(PAYMENT_FAILURE_STEPS, { sagaId: `${prefix}-${i}` }),
  ).flat();
  return kafkaEvent(recordsFor(events, { firstOffset }));
}

async function scalar(expr: string): Promise<number | undefined> {
  const { result } = await prometheus.query(expr);
  return result[0] ? Number(result[0].value[1]) : undefined;
}

describe('an unreachable remote-write endpoint', () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startTcpProxy('127.0.0.1', Number(new URL(prometheus.url).port));
  });
  afterAll(() => proxy.close());

  it('never fails the invocation, and the totals arrive complete once it is back', async () => {
    const { telemetry, warn } = envTelemetry(`http://127.0.0.1:${proxy.port}/api/v1/write`, 'down-env', {
      PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS: '1000',
      PROMETHEUS_REMOTE_WRITE_LABELS: 'scenario=down',
    });
    const consume = consumeHandlerFor(db.pool, undefined, telemetry);

    await expect(consume(batchOf('down-a', 2))).resolves.toMatchObject({ inserted: 14 });

    proxy.cut();
    const started = Date.now();
    await expect(consume(batchOf('down-b', 3, 100))).resolves.toMatchObject({ inserted: 21 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(warn).toHaveBeenCalledWith(
      'metrics flush failed; the invocation goes on',
      expect.objectContaining({ sink: 'prometheus', ok: false }),
    );

    proxy.restore();
    await expect(consume(batchOf('down-c', 1, 200))).resolves.toMatchObject({ inserted: 7 });

    // Nothing recorded while the endpoint was away is lost: the counters are cumulative.
    expect(await scalar('sum(saga_events_processed_total{scenario="down"})')).toBe(42);
    expect(await scalar('sum(saga_failed_total{scenario="down"})')).toBe(6);
    expect(
      await scalar('sum(saga_tracker_metrics_flush_failures_total{scenario="down",sink="prometheus"})'),
    ).toBe(1);
    const stored = await db.pool.query(
      `SELECT count(*)::int AS n FROM saga_instance WHERE saga_id LIKE 'down-%'`,
    );
    expect(stored.rows[0]?.n).toBe(6);
  });
});

describe('a remote-write endpoint that never answers', () => {
  let receiver: RecordingReceiver;
  beforeAll(async () => {
    receiver = await startRecordingReceiver();
    receiver.respond = () => undefined; // accepts the request, never answers
  });
  afterAll(() => receiver.close());

  it('costs the invocation at most its timeout and the ingest is committed', async () => {
    const { telemetry, warn } = envTelemetry(receiver.url, 'slow-env', {
      PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS: '300',
    });
    const consume = consumeHandlerFor(db.pool, undefined, telemetry);

    const started = Date.now();
    await expect(consume(batchOf('slow', 2, 300))).resolves.toMatchObject({ inserted: 14 });
    const elapsed = Date.now() - started;

    expect(receiver.received.length).toBeGreaterThanOrEqual(1);
    // The endpoint would have held the invocation forever; generous slack for a busy machine.
    expect(elapsed).toBeLessThan(8_000);
    expect(warn).toHaveBeenCalledWith(
      'metrics flush failed; the invocation goes on',
      expect.objectContaining({ error: expect.stringContaining('no answer within') }),
    );
    const stored = await db.pool.query(
      `SELECT count(*)::int AS n FROM saga_instance WHERE saga_id LIKE 'slow-%'`,
    );
    expect(stored.rows[0]?.n).toBe(2);
  });
});

describe('concurrent Lambda environments', () => {
  /** One environment: its own registry and clock (hosts' clocks differ), writing to the real Prometheus. */
  function environment(instance: string, clockSkewMs: number, scenario: string) {
    const { logger, warn } = loggerSpy(instance);
    const sink = new PrometheusSink({
      client: new RemoteWriteClient({ url: prometheus.writeUrl, maxRetries: 0 }),
      labels: { job: 'saga-tracker', function: 'consume', instance, scenario },
      registry: new SeriesRegistry(1_000, () => Date.now() + clockSkewMs),
      onRejected: (detail) => logger.warn('remote-write endpoint refused the samples', detail),
    });
    const telemetry: Telemetry = new TelemetryClass([sink], logger, 2_000);
    return { consume: consumeHandlerFor(db.pool, undefined, telemetry), warn };
  }

  async function runConcurrently(
    envs: Array<ReturnType<typeof environment>>,
    prefix: string,
    rounds: number,
  ) {
    let offset = 10_000;
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        envs.map((env, index) => {
          offset += 100;
          return env.consume(batchOf(`${prefix}-${round}-${index}`, 1, offset));
        }),
      );
    }
  }

  it('write side by side without a single rejected sample, even with skewed clocks', async () => {
    const envs = [environment('env-a', 0, 'concurrent'), environment('env-b', -5_000, 'concurrent')];

    await runConcurrently(envs, 'conc', 6);

    for (const env of envs) expect(env.warn).not.toHaveBeenCalled();
    expect(await scalar('sum(saga_events_processed_total{scenario="concurrent",instance="env-a"})')).toBe(42);
    expect(await scalar('sum(saga_events_processed_total{scenario="concurrent",instance="env-b"})')).toBe(42);
    expect(await scalar('sum(saga_failed_total{scenario="concurrent"})')).toBe(12);
    expect(await scalar('count(saga_failed_total{scenario="concurrent"})')).toBe(2);
  });

  it('would collide without the instance label: Prometheus refuses the out-of-order samples', async () => {
    // The control experiment: the same skew, but both environments claim one series.
    const envs = [environment('same', 0, 'colliding'), environment('same', -5_000, 'colliding')];

    await runConcurrently(envs, 'coll', 2);

    expect(envs[1]?.warn).toHaveBeenCalledWith(
      'remote-write endpoint refused the samples',
      expect.objectContaining({ status: 400 }),
    );
  });
});
