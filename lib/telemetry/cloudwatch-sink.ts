import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { CloudWatchMapping, MetricDef } from './metric-types';
import type { Measurement, MetricSink, SinkFlushResult } from './sink';

interface Entry {
  readonly mapping: CloudWatchMapping<string>;
  readonly dimensions: Readonly<Record<string, string>>;
  /** Counter: the sum of increments; gauge: the latest value per full label set; histogram: every value. */
  readonly values: number[];
  readonly gauges: Map<string, number>;
}

/**
 * CloudWatch through Powertools Metrics (EMF on stdout). CloudWatch aggregates
 * by itself, so this sink keeps only what happened in the current invocation:
 * counter increments summed, gauges' latest values, every histogram value
 * (CloudWatch computes percentiles from them).
 */
export class CloudWatchSink implements MetricSink {
  readonly name = 'cloudwatch';
  private pending = new Map<string, Entry>();

  constructor(
    private readonly metrics: Metrics,
    /** false: leave undimensioned metrics in Powertools' buffer for its own `logMetrics` middleware to publish. */
    private readonly publish = true,
  ) {}

  record(measurement: Measurement): void {
    const mapping = measurement.metric.cloudWatch as CloudWatchMapping<string> | undefined;
    if (!mapping || measurement.kind === 'unset') return;
    const dimensions = Object.fromEntries(
      (mapping.dimensions ?? []).map((name) => [name, measurement.labels[name] ?? '']),
    );
    const key = `${mapping.name}\u0000${JSON.stringify(dimensions)}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { mapping, dimensions, values: [], gauges: new Map() };
      this.pending.set(key, entry);
    }
    const metric: MetricDef = measurement.metric;
    if (metric.type === 'counter') {
      entry.values[0] = (entry.values[0] ?? 0) + measurement.value;
    } else if (metric.type === 'gauge') {
      entry.gauges.set(JSON.stringify(measurement.labels), measurement.value);
    } else {
      entry.values.push(measurement.value);
    }
  }

  async flush(): Promise<SinkFlushResult> {
    const started = performance.now();
    const entries = [...this.pending.values()];
    this.pending = new Map();
    if (entries.length === 0) return { sink: this.name, ok: true, skipped: true, durationMs: 0 };
    try {
      for (const entry of entries) {
        // A gauge projected onto fewer dimensions is the sum of its label sets (e.g. pending dead letters of all reasons).
        const values =
          entry.gauges.size > 0 ? [[...entry.gauges.values()].reduce((a, b) => a + b, 0)] : entry.values;
        const hasDimensions = Object.keys(entry.dimensions).length > 0;
        for (const value of values) {
          if (hasDimensions) {
            // singleMetric() publishes at once with its own dimensions, leaving the shared buffer alone.
            const single = this.metrics.singleMetric();
            single.addDimensions(entry.dimensions);
            single.addMetric(entry.mapping.name, entry.mapping.unit, value);
          } else {
            this.metrics.addMetric(entry.mapping.name, entry.mapping.unit, value);
          }
        }
      }
      if (this.publish && this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
      return { sink: this.name, ok: true, series: entries.length, durationMs: performance.now() - started };
    } catch (error) {
      return {
        sink: this.name,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
        durationMs: performance.now() - started,
      };
    }
  }
}
