import type { Metrics } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { INVOCATIONS } from './metrics';
import type { Telemetry } from './telemetry';

export interface FlushMetricsOptions {
  /**
   * Milliseconds of the invocation's remaining time the flush leaves alone, so
   * a slow endpoint can never push the function into its timeout.
   * @default 500
   */
  readonly reserveMs?: number;
  /** Emits Powertools' ColdStart metric for this function (what `logMetrics({captureColdStartMetric})` did). */
  readonly coldStartMetrics?: Metrics;
}

/**
 * Flushes the telemetry before the handler's answer leaves, after success and
 * after errors alike, within min(PROMETHEUS_REMOTE_WRITE_TIMEOUT_MS, remaining
 * time − reserve). It never throws and never changes the response or the error.
 *
 * Use it FIRST (`middy().use(flushMetrics(telemetry))…`): middy runs `after`
 * and `onError` in reverse order, so it then runs last and sees everything
 * the other middlewares recorded. It replaces Powertools' `logMetrics`.
 */
export function flushMetrics<TEvent = unknown, TResult = unknown>(
  telemetry: Telemetry,
  options: FlushMetricsOptions = {},
): middy.MiddlewareObj<TEvent, TResult, Error, Context> {
  const reserveMs = options.reserveMs ?? 500;
  const flush = async (request: middy.Request<TEvent, TResult, Error, Context>) => {
    telemetry.increment(INVOCATIONS, { outcome: request.error ? 'error' : 'success' });
    const now = Date.now();
    const remaining =
      typeof request.context?.getRemainingTimeInMillis === 'function'
        ? request.context.getRemainingTimeInMillis() - reserveMs
        : Number.POSITIVE_INFINITY;
    const budget = Math.max(0, Math.min(telemetry.flushTimeoutMs, remaining));
    await telemetry.flush(now + budget);
  };
  return {
    before: () => {
      options.coldStartMetrics?.captureColdStartMetric();
    },
    after: flush,
    onError: flush,
  };
}
