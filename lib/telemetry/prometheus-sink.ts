import type { RemoteWriteClient } from '../adapters/remote-write/client';
import { compressWriteRequest, encodeWriteRequest } from '../adapters/remote-write/write-request';
import type { HistogramDef } from './metric-types';
import { SeriesRegistry } from './registry';
import type { Measurement, MetricSink, SinkFlushResult } from './sink';

export interface PrometheusSinkOptions {
  readonly client: Pick<RemoteWriteClient, 'send'>;
  /** Labels on every series: job, function, instance and any configured static labels. */
  readonly labels: Readonly<Record<string, string>>;
  readonly registry?: SeriesRegistry;
  readonly onRejected?: (detail: { status?: number; error?: string }) => void;
}

/**
 * Prometheus remote write: the whole cumulative state of this environment is
 * sent on every flush, one sample per series at one new timestamp.
 */
export class PrometheusSink implements MetricSink {
  readonly name = 'prometheus';
  readonly registry: SeriesRegistry;

  constructor(private readonly options: PrometheusSinkOptions) {
    this.registry = options.registry ?? new SeriesRegistry();
  }

  record(measurement: Measurement): void {
    const { metric, labels, value } = measurement;
    if (measurement.kind === 'increment') this.registry.increment(metric, labels, value);
    else if (measurement.kind === 'set') this.registry.set(metric, labels, value);
    else if (measurement.kind === 'unset') this.registry.remove(metric, labels);
    else this.registry.observe(metric as HistogramDef<string>, labels, value);
  }

  async flush(deadline: number): Promise<SinkFlushResult> {
    const started = performance.now();
    if (this.registry.size === 0) return { sink: this.name, ok: true, skipped: true, durationMs: 0 };
    const snapshot = this.registry.snapshot(this.options.labels);
    const encoded = encodeWriteRequest(snapshot.timeseries);
    const body = compressWriteRequest(encoded);
    const sent = await this.options.client.send(body, deadline);
    if (sent.ok) this.registry.markAnnounced(snapshot.newSeries);
    else if (sent.rejected) {
      // A refused request is refused whole; the likeliest cause is a zero sample
      // behind a sample that did arrive earlier. Without the zero samples the
      // next flush goes through, and the totals it carries lose nothing.
      this.registry.markAnnounced(snapshot.newSeries);
      this.options.onRejected?.({
        ...(sent.status === undefined ? {} : { status: sent.status }),
        ...(sent.error === undefined ? {} : { error: sent.error }),
      });
    }
    return {
      sink: this.name,
      ok: sent.ok,
      series: snapshot.timeseries.length,
      samples: snapshot.sampleCount,
      bytes: sent.bytes,
      uncompressedBytes: encoded.byteLength,
      attempts: sent.attempts,
      ...(sent.status === undefined ? {} : { status: sent.status }),
      ...(sent.error === undefined ? {} : { error: sent.error }),
      durationMs: performance.now() - started,
    };
  }
}
