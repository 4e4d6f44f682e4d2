import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { lambdaContext } from '../../test/support/consume';
import { captureEmf, type EmfCapture } from '../../test/support/emf';
import type { SendResult } from '../adapters/remote-write/client';
import { decodeWriteRequestBody, type TimeSeries } from '../adapters/remote-write/write-request';
import { CloudWatchSink } from './cloudwatch-sink';
import { createTelemetry } from './index';
import {
  API_LATENCY,
  COMPENSATION_DURATION,
  EVENTS_PROCESSED,
  INVOCATIONS,
  PENDING_DEAD_LETTERS,
  SAGAS_FAILED,
  TRACKER_UP,
} from './metrics';
import { flushMetrics } from './middleware';
import type { MetricSink } from './sink';
import { Telemetry } from './telemetry';

/** A remote-write client that keeps what it is asked to send. */
function fakeClient(answer: Partial<SendResult> | (() => Promise<SendResult>) = {}) {
  const sent: Array<{ series: TimeSeries[]; deadline: number; at: number }> = [];
  return {
    sent,
    async send(body: Uint8Array, deadline: number): Promise<SendResult> {
      sent.push({ series: decodeWriteRequestBody(body), deadline, at: Date.now() });
      if (typeof answer === 'function') return answer();
      return { ok: true, status: 204, attempts: 1, bytes: body.byteLength, rejected: false, ...answer };
    },
  };
}

function seriesValue(
  series: TimeSeries[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const match = series.find((entry) => {
    const own = Object.fromEntries(entry.labels.map((label) => [label.name, label.value]));
    return own.__name__ === name && Object.entries(labels).every(([key, value]) => own[key] === value);
  });
  return match?.samples[match.samples.length - 1]?.value;
}

const quietLogger = () => ({ warn: jest.fn(), info: jest.fn() });

let emf: EmfCapture;
beforeEach(() => {
  emf = captureEmf();
});
afterEach(() => emf.restore());

describe('CloudWatch sink', () => {
  it('emits one invocation’s counts under the CloudWatch names, with only the mapped dimensions', async () => {
    const telemetry = new Telemetry([new CloudWatchSink(emf.metrics)], quietLogger());
    telemetry.increment(EVENTS_PROCESSED, { step: 'PAYMENT_FAILED', status: 'FAILED' }, 2);
    telemetry.increment(EVENTS_PROCESSED, { step: 'STOCK_RESERVED', status: 'COMPLETED' }, 3);
    telemetry.increment(SAGAS_FAILED, {}, 1);
    telemetry.observe(COMPENSATION_DURATION, {}, 12);
    telemetry.observe(COMPENSATION_DURATION, {}, 30);
    telemetry.observe(API_LATENCY, { endpoint: '/api/v1/sagas/{sagaId}', method: 'GET' }, 0.02);
    telemetry.set(PENDING_DEAD_LETTERS, { reason: 'MALFORMED_AVRO' }, 2);
    telemetry.set(PENDING_DEAD_LETTERS, { reason: 'VALIDATION_FAILED' }, 5);
    telemetry.set(TRACKER_UP, {}, 1); // Prometheus only

    await telemetry.flush();

    expect(emf.valuesOf('EventsInserted')).toEqual([5]);
    expect(emf.valuesOf('SagasFailed')).toEqual([1]);
    expect(emf.valuesOf('CompensationDuration')).toEqual([[12, 30]]);
    expect(emf.valuesOf('PendingDeadLetters')).toEqual([7]);
    const latency = emf.documents.find((doc) => 'ApiLatency' in doc);
    expect(latency).toMatchObject({ ApiLatency: 0.02, endpoint: '/api/v1/sagas/{sagaId}' });
    expect(latency?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(expect.arrayContaining(['endpoint']));
    expect(emf.documents.some((doc) => 'saga_tracker_up' in doc || 'TrackerUp' in doc)).toBe(false);
  });

  it('starts every invocation from zero: CloudWatch sums the datapoints itself', async () => {
    const telemetry = new Telemetry([new CloudWatchSink(emf.metrics)], quietLogger());
    telemetry.increment(SAGAS_FAILED, {}, 2);
    await telemetry.flush();
    telemetry.increment(SAGAS_FAILED, {}, 1);
    await telemetry.flush();
    expect(emf.valuesOf('SagasFailed')).toEqual([2, 1]);
  });
});

describe('Telemetry', () => {
  it('sends the same measurements to Prometheus, cumulative and labelled with the environment', async () => {
    const client = fakeClient();
    const telemetry = createTelemetry({
      functionName: 'consume',
      logger: quietLogger(),
      metrics: emf.metrics,
      remoteWrite: {
        enabled: true,
        url: 'http://unused',
        auth: { mode: 'none' },
        timeoutMs: 1_000,
        maxRetries: 0,
        staticLabels: { env: 'test' },
      },
      instance: 'env-a',
      client,
    });
    telemetry.increment(SAGAS_FAILED, {}, 2);
    await telemetry.flush();
    telemetry.increment(SAGAS_FAILED, {}, 1);
    await telemetry.flush();

    const last = client.sent[1]?.series ?? [];
    expect(
      seriesValue(last, 'saga_failed_total', {
        job: 'saga-tracker',
        function: 'consume',
        instance: 'env-a',
        env: 'test',
      }),
    ).toBe(3);
    expect(emf.valuesOf('SagasFailed')).toEqual([2, 1]);
  });

  it('never rejects when a sink fails: it logs the failure and counts it for the other sinks', async () => {
    const logger = quietLogger();
    const broken: MetricSink = {
      name: 'prometheus',
      record: () => undefined,
      flush: () => Promise.reject(new Error('socket hang up')),
    };
    const telemetry = new Telemetry([broken, new CloudWatchSink(emf.metrics)], logger);
    telemetry.increment(SAGAS_FAILED, {}, 1);

    const report = await telemetry.flush();

    expect(report.ok).toBe(false);
    expect(report.results[0]).toMatchObject({ sink: 'prometheus', ok: false, error: 'socket hang up' });
    expect(logger.warn).toHaveBeenCalledWith(
      'metrics flush failed; the invocation goes on',
      expect.anything(),
    );
    const failure = emf.documents.find((doc) => 'MetricsFlushFailed' in doc);
    expect(failure).toMatchObject({ MetricsFlushFailed: 1, sink: 'prometheus' });
  });

  it('gives up on a sink that ignores its deadline', async () => {
    const hanging: MetricSink = {
      name: 'prometheus',
      record: () => undefined,
      flush: () => new Promise(() => undefined),
    };
    const telemetry = new Telemetry([hanging], quietLogger());
    const report = await telemetry.flush(Date.now() + 100);
    expect(report.results[0]).toMatchObject({ ok: false, error: 'flush did not finish before its deadline' });
  });

  it('drops impossible values with a warning instead of throwing', () => {
    const logger = quietLogger();
    const sink: MetricSink = { name: 'spy', record: jest.fn(), flush: jest.fn() };
    const telemetry = new Telemetry([sink], logger);
    expect(() => telemetry.increment(SAGAS_FAILED, {}, -1)).not.toThrow();
    expect(() => telemetry.set(TRACKER_UP, {}, Number.NaN)).not.toThrow();
    expect(() => telemetry.observe(COMPENSATION_DURATION, {}, Number.POSITIVE_INFINITY)).not.toThrow();
    expect(logger.warn).toHaveBeenCalledTimes(3);
    expect(sink.record).not.toHaveBeenCalled();
  });
});

describe('flushMetrics middleware', () => {
  function handlerWith(telemetry: Telemetry, body: () => Promise<string>, reserveMs?: number) {
    return middy<unknown, string, Error, Context>()
      .use(flushMetrics(telemetry, reserveMs === undefined ? {} : { reserveMs }))
      .handler(body);
  }

  function telemetryWith(client: ReturnType<typeof fakeClient>, timeoutMs = 1_000) {
    return createTelemetry({
      functionName: 'api',
      logger: quietLogger(),
      metrics: emf.metrics,
      remoteWrite: {
        enabled: true,
        url: 'http://unused',
        auth: { mode: 'none' },
        timeoutMs,
        maxRetries: 0,
        staticLabels: {},
      },
      instance: 'env-b',
      client,
    });
  }

  it('flushes what the handler recorded before the invocation returns', async () => {
    const client = fakeClient();
    const telemetry = telemetryWith(client);
    const handler = handlerWith(telemetry, async () => {
      telemetry.increment(SAGAS_FAILED, {}, 4);
      return 'done';
    });

    await expect(handler({}, lambdaContext())).resolves.toBe('done');
    const series = client.sent[0]?.series ?? [];
    expect(seriesValue(series, 'saga_failed_total')).toBe(4);
    expect(seriesValue(series, INVOCATIONS.name, { outcome: 'success' })).toBe(1);
  });

  it('flushes after an error too and lets the error through unchanged', async () => {
    const client = fakeClient();
    const telemetry = telemetryWith(client);
    const failure = new Error('database unreachable');
    const handler = handlerWith(telemetry, async () => {
      throw failure;
    });

    await expect(handler({}, lambdaContext())).rejects.toBe(failure);
    expect(seriesValue(client.sent[0]?.series ?? [], INVOCATIONS.name, { outcome: 'error' })).toBe(1);
  });

  it('does not fail the invocation when remote write fails', async () => {
    const client = fakeClient({ ok: false, status: 503, rejected: false, error: 'HTTP 503' });
    const telemetry = telemetryWith(client);
    const handler = handlerWith(telemetry, async () => 'done');
    await expect(handler({}, lambdaContext())).resolves.toBe('done');
    expect(emf.valuesOf('MetricsFlushFailed')).toEqual([1]);
  });

  it('keeps the flush inside the invocation’s remaining time, minus the reserve', async () => {
    const client = fakeClient();
    const telemetry = telemetryWith(client, 5_000);
    const handler = handlerWith(telemetry, async () => 'done', 500);
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => 700 };

    await handler({}, context);

    const [call] = client.sent;
    expect(call).toBeDefined();
    // The remaining 700 ms minus the 500 ms reserve, not the configured 5 s.
    expect((call?.deadline ?? 0) - (call?.at ?? 0)).toBeLessThanOrEqual(200);
  });
});
