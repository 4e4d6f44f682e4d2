import { randomBytes } from 'node:crypto';
import type { CounterDef, GaugeDef, HistogramDef, Labels, MetricDef } from './metric-types';
import { FLUSH_FAILURES } from './metrics';
import type { Measurement, MetricSink, SinkFlushResult } from './sink';

/** The recording API every function uses; what happens to a measurement is the sinks' business. */
export interface MetricsRecorder {
  increment<L extends string>(metric: CounterDef<L>, labels: Labels<L>, by?: number): void;
  set<L extends string>(metric: GaugeDef<L>, labels: Labels<L>, value: number): void;
  observe<L extends string>(metric: HistogramDef<L>, labels: Labels<L>, value: number): void;
  /** Stops reporting a gauge series (its value became unknown). */
  unset<L extends string>(metric: GaugeDef<L>, labels: Labels<L>): void;
}

export interface FlushReport {
  readonly results: readonly SinkFlushResult[];
  readonly ok: boolean;
}

/** The slice of a logger the telemetry needs (Powertools Logger fits). */
export interface TelemetryLogger {
  warn(message: string, ...extra: unknown[]): void;
}

/** A random id per Lambda environment: the `instance` label that keeps concurrent environments' series apart. */
export function newInstanceId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Fans measurements out to the sinks and flushes them. Recording never throws
 * (a bad measurement is dropped with a warning): metrics must not fail an
 * invocation.
 */
export class Telemetry implements MetricsRecorder {
  constructor(
    /** Flushed in this order; put the network sinks first so their failures reach the later ones. */
    private readonly sinks: readonly MetricSink[],
    private readonly logger: TelemetryLogger,
    /** Default flush budget when the caller gives no deadline. */
    readonly flushTimeoutMs = 2_000,
  ) {}

  increment<L extends string>(metric: CounterDef<L>, labels: Labels<L>, by = 1): void {
    if (by === 0) return;
    if (!Number.isFinite(by) || by < 0) {
      this.logger.warn('counter increment dropped: not a finite non-negative number', {
        metric: metric.name,
        by,
      });
      return;
    }
    this.dispatch({ kind: 'increment', metric, labels, value: by });
  }

  set<L extends string>(metric: GaugeDef<L>, labels: Labels<L>, value: number): void {
    if (!Number.isFinite(value)) {
      this.logger.warn('gauge value dropped: not a finite number', { metric: metric.name, value });
      return;
    }
    this.dispatch({ kind: 'set', metric, labels, value });
  }

  observe<L extends string>(metric: HistogramDef<L>, labels: Labels<L>, value: number): void {
    if (!Number.isFinite(value)) {
      this.logger.warn('histogram value dropped: not a finite number', { metric: metric.name, value });
      return;
    }
    this.dispatch({ kind: 'observe', metric, labels, value });
  }

  unset<L extends string>(metric: GaugeDef<L>, labels: Labels<L>): void {
    this.dispatch({ kind: 'unset', metric, labels, value: 0 });
  }

  /**
   * Flushes every sink, never past `deadline` (epoch ms), never rejecting. A
   * failed sink is logged and counted in `saga_tracker_metrics_flush_failures_total`.
   */
  async flush(deadline = Date.now() + this.flushTimeoutMs): Promise<FlushReport> {
    const results: SinkFlushResult[] = [];
    for (const sink of this.sinks) {
      const result = await this.flushOne(sink, deadline);
      results.push(result);
      if (!result.ok) {
        this.logger.warn('metrics flush failed; the invocation goes on', { ...result });
        this.increment(FLUSH_FAILURES, { sink: sink.name });
      }
    }
    return { results, ok: results.every((result) => result.ok) };
  }

  private async flushOne(sink: MetricSink, deadline: number): Promise<SinkFlushResult> {
    const started = Date.now();
    const clock = performance.now();
    let timer: NodeJS.Timeout | undefined;
    // The sinks honour the deadline themselves; this race is the backstop that makes it a hard one.
    const backstop = new Promise<SinkFlushResult>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            sink: sink.name,
            ok: false,
            error: 'flush did not finish before its deadline',
            durationMs: performance.now() - clock,
          }),
        Math.max(0, deadline - started) + 50,
      );
    });
    try {
      return await Promise.race([sink.flush(deadline), backstop]);
    } catch (error) {
      return {
        sink: sink.name,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
        durationMs: performance.now() - clock,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private dispatch(measurement: Measurement & { metric: MetricDef<string> }): void {
    for (const sink of this.sinks) {
      try {
        sink.record(measurement);
      } catch (error) {
        this.logger.warn('metric not recorded', { sink: sink.name, metric: measurement.metric.name, error });
      }
    }
  }
}

/** Times `fn` into a histogram, whether it resolves or throws. */
export async function timed<L extends string, T>(
  recorder: MetricsRecorder,
  metric: HistogramDef<L>,
  labels: Labels<L>,
  fn: () => Promise<T>,
): Promise<T> {
  const started = process.hrtime.bigint();
  try {
    return await fn();
  } finally {
    recorder.observe(metric, labels, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
