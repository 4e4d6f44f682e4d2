import type { Label, Sample, TimeSeries } from '../adapters/remote-write/write-request';
import type { MetricDef } from './metric-types';

/** Label value that stands for every series past a metric's limit (protects the backend from a label explosion). */
export const OVERFLOW_LABEL_VALUE = '_overflow';

/**
 * Zero samples of new series are placed at most this far back: older samples
 * would fall out of the receiver's accepted time window.
 */
const MAX_ZERO_SAMPLE_AGE_MS = 5 * 60_000;

interface SeriesBase {
  readonly labels: Readonly<Record<string, string>>;
  /** When the series was first touched in this environment (ms). */
  readonly createdAt: number;
  /** A sample of it reached the receiver (or was refused): no zero sample any more. */
  announced: boolean;
}

interface ScalarSeries extends SeriesBase {
  value: number;
}

interface HistogramSeries extends SeriesBase {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

interface Family {
  readonly def: MetricDef;
  readonly series: Map<string, ScalarSeries | HistogramSeries>;
}

export interface Snapshot {
  readonly timestamp: number;
  readonly timeseries: TimeSeries[];
  /** Series sent for the first time (with a zero sample): mark them once the receiver has answered. */
  readonly newSeries: readonly SeriesBase[];
  readonly sampleCount: number;
}

function sortedLabels(labels: Readonly<Record<string, string>>): Label[] {
  return Object.entries(labels)
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
}

function seriesKey(labelValues: readonly string[]): string {
  return labelValues.join('\u0000');
}

function formatBound(bound: number): string {
  return bound === Number.POSITIVE_INFINITY ? '+Inf' : String(bound);
}

/**
 * The cumulative state of every series in one Lambda environment, for the
 * Prometheus sink. Counters and histograms only grow for the environment's
 * life (a new environment is a new series through its `instance` label), so
 * a lost flush loses nothing: the next one carries the totals. Timestamps
 * strictly increase per series because every snapshot takes a timestamp
 * later than the previous one and puts each series in it once.
 */
export class SeriesRegistry {
  private readonly families = new Map<string, Family>();
  private lastTimestamp = 0;

  constructor(
    private readonly maxSeriesPerMetric = 1_000,
    private readonly clock: () => number = Date.now,
  ) {}

  increment(def: MetricDef, labels: Readonly<Record<string, string>>, by: number): void {
    const series = this.seriesOf(def, labels) as ScalarSeries;
    series.value += by;
  }

  set(def: MetricDef, labels: Readonly<Record<string, string>>, value: number): void {
    const series = this.seriesOf(def, labels) as ScalarSeries;
    series.value = value;
  }

  observe(
    def: MetricDef & { buckets: readonly number[] },
    labels: Readonly<Record<string, string>>,
    value: number,
  ) {
    const series = this.seriesOf(def, labels) as HistogramSeries;
    let index = def.buckets.findIndex((bound) => value <= bound);
    if (index < 0) index = def.buckets.length;
    series.counts[index] = (series.counts[index] ?? 0) + 1;
    series.sum += value;
    series.count += 1;
  }

  remove(def: MetricDef, labels: Readonly<Record<string, string>>): void {
    const family = this.families.get(def.name);
    family?.series.delete(seriesKey(def.labelNames.map((name) => labels[name] ?? '')));
  }

  get size(): number {
    let total = 0;
    for (const family of this.families.values()) total += family.series.size;
    return total;
  }

  /** Every series with its current value, stamped later than any earlier snapshot. */
  snapshot(staticLabels: Readonly<Record<string, string>>): Snapshot {
    const timestamp = Math.max(this.clock(), this.lastTimestamp + 1);
    this.lastTimestamp = timestamp;
    const timeseries: TimeSeries[] = [];
    const newSeries: SeriesBase[] = [];
    let sampleCount = 0;
    const push = (labels: Readonly<Record<string, string>>, value: number, zeroAt: number | null) => {
      const samples: Sample[] =
        zeroAt === null
          ? [{ value, timestamp }]
          : [
              { value: 0, timestamp: zeroAt },
              { value, timestamp },
            ];
      sampleCount += samples.length;
      timeseries.push({ labels: sortedLabels({ ...labels, ...staticLabels }), samples });
    };
    for (const { def, series } of this.families.values()) {
      for (const entry of series.values()) {
        // Counters and histograms start from an explicit zero, so increase() and
        // rate() count the increments of an environment's first flush too.
        const zeroAt =
          def.type !== 'gauge' && !entry.announced
            ? Math.min(Math.max(entry.createdAt, timestamp - MAX_ZERO_SAMPLE_AGE_MS), timestamp - 1)
            : null;
        if (zeroAt !== null) newSeries.push(entry);
        if (def.type !== 'histogram') {
          push({ ...entry.labels, __name__: def.name }, (entry as ScalarSeries).value, zeroAt);
          continue;
        }
        const histogram = entry as HistogramSeries;
        let cumulative = 0;
        const bounds = [...def.buckets, Number.POSITIVE_INFINITY];
        bounds.forEach((bound, index) => {
          cumulative += histogram.counts[index] ?? 0;
          push(
            { ...entry.labels, __name__: `${def.name}_bucket`, le: formatBound(bound) },
            cumulative,
            zeroAt,
          );
        });
        push({ ...entry.labels, __name__: `${def.name}_sum` }, histogram.sum, zeroAt);
        push({ ...entry.labels, __name__: `${def.name}_count` }, histogram.count, zeroAt);
      }
    }
    return { timestamp, timeseries, newSeries, sampleCount };
  }

  /** The receiver has the zero samples of these series (or refused them for good). */
  markAnnounced(series: readonly SeriesBase[]): void {
    for (const entry of series) entry.announced = true;
  }

  private seriesOf(def: MetricDef, labels: Readonly<Record<string, string>>): ScalarSeries | HistogramSeries {
    let family = this.families.get(def.name);
    if (!family) {
      family = { def, series: new Map() };
      this.families.set(def.name, family);
    } else if (family.def !== def && family.def.type !== def.type) {
      throw new Error(`metric ${def.name} recorded as both ${family.def.type} and ${def.type}`);
    }
    const values = def.labelNames.map((name) => labels[name] ?? '');
    let key = seriesKey(values);
    let existing = family.series.get(key);
    if (existing) return existing;
    let own = Object.fromEntries(def.labelNames.map((name, index) => [name, values[index] ?? '']));
    if (family.series.size >= this.maxSeriesPerMetric) {
      own = Object.fromEntries(def.labelNames.map((name) => [name, OVERFLOW_LABEL_VALUE]));
      key = seriesKey(def.labelNames.map(() => OVERFLOW_LABEL_VALUE));
      existing = family.series.get(key);
      if (existing) return existing;
    }
    const base = { labels: own, createdAt: this.clock(), announced: false };
    const created: ScalarSeries | HistogramSeries =
      def.type === 'histogram'
        ? { ...base, counts: new Array(def.buckets.length + 1).fill(0), sum: 0, count: 0 }
        : { ...base, value: 0 };
    family.series.set(key, created);
    return created;
  }
}
