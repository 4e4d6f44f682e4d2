import type { CounterDef, GaugeDef, HistogramDef, Labels } from '../../lib/telemetry/metric-types';
import { PrometheusSink } from '../../lib/telemetry/prometheus-sink';
import type { MetricsRecorder } from '../../lib/telemetry/telemetry';
import { Telemetry } from '../../lib/telemetry/telemetry';

export interface RecordedCall {
  readonly kind: 'increment' | 'set' | 'observe' | 'unset';
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A recorder that keeps every call, for asserting what code records. */
export class MemoryRecorder implements MetricsRecorder {
  readonly calls: RecordedCall[] = [];

  increment<L extends string>(metric: CounterDef<L>, labels: Labels<L>, by = 1): void {
    this.calls.push({ kind: 'increment', name: metric.name, labels, value: by });
  }

  set<L extends string>(metric: GaugeDef<L>, labels: Labels<L>, value: number): void {
    this.calls.push({ kind: 'set', name: metric.name, labels, value });
  }

  observe<L extends string>(metric: HistogramDef<L>, labels: Labels<L>, value: number): void {
    this.calls.push({ kind: 'observe', name: metric.name, labels, value });
  }

  unset<L extends string>(metric: GaugeDef<L>, labels: Labels<L>): void {
    this.calls.push({ kind: 'unset', name: metric.name, labels, value: 0 });
  }

  /** Sum of the increments of a counter whose labels include `labels`. */
  total(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.matching('increment', name, labels).reduce((sum, call) => sum + call.value, 0);
  }

  /** The last value set on a gauge series. */
  gauge(name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
    const calls = this.calls.filter(
      (call) =>
        (call.kind === 'set' || call.kind === 'unset') && call.name === name && includes(call.labels, labels),
    );
    const last = calls[calls.length - 1];
    return last?.kind === 'set' ? last.value : undefined;
  }

  observations(name: string, labels: Readonly<Record<string, string>> = {}): number[] {
    return this.matching('observe', name, labels).map((call) => call.value);
  }

  private matching(kind: RecordedCall['kind'], name: string, labels: Readonly<Record<string, string>>) {
    return this.calls.filter(
      (call) => call.kind === kind && call.name === name && includes(call.labels, labels),
    );
  }
}

function includes(
  labels: Readonly<Record<string, string>>,
  wanted: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(wanted).every(([name, value]) => labels[name] === value);
}

/** What a Prometheus sink would hold, readable by name and labels. */
export interface MemoryTelemetry {
  readonly telemetry: Telemetry;
  /** Current value of a counter/gauge series (or a histogram's _count/_sum/_bucket), summed over matching series. */
  value(name: string, labels?: Readonly<Record<string, string>>): number;
}

/** A real Telemetry (Prometheus sink with an in-memory client, no CloudWatch) for asserting what handlers record. */
export function memoryTelemetry(): MemoryTelemetry {
  const sink = new PrometheusSink({
    client: {
      send: async (body) => ({ ok: true, status: 204, attempts: 1, bytes: body.byteLength, rejected: false }),
    },
    labels: { job: 'saga-tracker', function: 'test', instance: 'memory' },
  });
  const telemetry = new Telemetry([sink], { warn: () => undefined });
  return {
    telemetry,
    value(name, labels = {}) {
      let total = 0;
      for (const series of sink.registry.snapshot({}).timeseries) {
        const own = Object.fromEntries(series.labels.map((label) => [label.name, label.value]));
        if (own.__name__ !== name || !includes(own, labels)) continue;
        total += series.samples[series.samples.length - 1]?.value ?? 0;
      }
      return total;
    },
  };
}
