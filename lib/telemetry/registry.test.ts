import fc from 'fast-check';
import type { TimeSeries } from '../adapters/remote-write/write-request';
import { counter, gauge, histogram } from './metric-types';
import { OVERFLOW_LABEL_VALUE, SeriesRegistry } from './registry';

const EVENTS = counter<'step' | 'status'>({
  name: 'test_events_total',
  help: 'x',
  labelNames: ['step', 'status'],
});
const FAILED = counter({ name: 'test_failed_total', help: 'x', labelNames: [] });
const ACTIVE = gauge<'status'>({ name: 'test_active', help: 'x', labelNames: ['status'] });
const DURATION = histogram({ name: 'test_duration_seconds', help: 'x', labelNames: [], buckets: [1, 5] });
const STATIC = { job: 'saga-tracker', function: 'consume', instance: 'env-1' };

function byName(series: readonly TimeSeries[]): Record<string, TimeSeries[]> {
  const grouped: Record<string, TimeSeries[]> = {};
  for (const entry of series) {
    const name = entry.labels.find((label) => label.name === '__name__')?.value ?? '';
    grouped[name] ??= [];
    grouped[name].push(entry);
  }
  return grouped;
}

function labelsOf(series: TimeSeries): Record<string, string> {
  return Object.fromEntries(series.labels.map((label) => [label.name, label.value]));
}

function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, set: (value: number) => (now = value) };
}

describe('SeriesRegistry', () => {
  it('sends cumulative counter values on every snapshot, unchanged series included', () => {
    const clock = manualClock();
    const registry = new SeriesRegistry(1_000, clock.now);
    registry.increment(EVENTS, { step: 'PAYMENT_FAILED', status: 'FAILED' }, 2);
    registry.increment(FAILED, {}, 1);
    registry.markAnnounced(registry.snapshot(STATIC).newSeries);

    clock.set(2_000_000);
    registry.increment(EVENTS, { step: 'PAYMENT_FAILED', status: 'FAILED' }, 3);
    const second = byName(registry.snapshot(STATIC).timeseries);

    expect(second.test_events_total?.[0]?.samples).toEqual([{ value: 5, timestamp: 2_000_000 }]);
    expect(second.test_failed_total?.[0]?.samples).toEqual([{ value: 1, timestamp: 2_000_000 }]);
  });

  it('starts a new counter series with a zero sample until the receiver has it', () => {
    const clock = manualClock(10_000);
    const registry = new SeriesRegistry(1_000, clock.now);
    registry.increment(FAILED, {}, 4);
    clock.set(10_250);
    const first = registry.snapshot(STATIC);
    expect(first.timeseries[0]?.samples).toEqual([
      { value: 0, timestamp: 10_000 },
      { value: 4, timestamp: 10_250 },
    ]);

    // Not acknowledged (the flush failed): the zero sample comes again.
    clock.set(10_500);
    expect(registry.snapshot(STATIC).timeseries[0]?.samples).toHaveLength(2);
    registry.markAnnounced(first.newSeries);
    clock.set(10_750);
    expect(registry.snapshot(STATIC).timeseries[0]?.samples).toEqual([{ value: 4, timestamp: 10_750 }]);
  });

  it('gives gauges no zero sample and keeps their latest value', () => {
    const registry = new SeriesRegistry();
    registry.set(ACTIVE, { status: 'STARTED' }, 7);
    registry.set(ACTIVE, { status: 'STARTED' }, 3);
    const [series] = registry.snapshot(STATIC).timeseries;
    expect(series?.samples.map((sample) => sample.value)).toEqual([3]);
  });

  it('labels every series with sorted, unique names including __name__ and the environment labels', () => {
    const registry = new SeriesRegistry();
    registry.increment(EVENTS, { step: 'ORDER_CREATED', status: 'STARTED' }, 1);
    const [series] = registry.snapshot(STATIC).timeseries;
    const names = series?.labels.map((label) => label.name) ?? [];
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(names.length);
    expect(series && labelsOf(series)).toEqual({
      __name__: 'test_events_total',
      function: 'consume',
      instance: 'env-1',
      job: 'saga-tracker',
      status: 'STARTED',
      step: 'ORDER_CREATED',
    });
  });

  it('writes histograms as cumulative buckets with +Inf, a sum and a count', () => {
    const registry = new SeriesRegistry();
    for (const value of [0.5, 3, 3, 60]) registry.observe(DURATION, {}, value);
    const grouped = byName(registry.snapshot(STATIC).timeseries);
    const last = (series: TimeSeries) => series.samples[series.samples.length - 1]?.value;

    expect(
      Object.fromEntries((grouped.test_duration_seconds_bucket ?? []).map((s) => [labelsOf(s).le, last(s)])),
    ).toEqual({ '1': 1, '5': 3, '+Inf': 4 });
    expect(grouped.test_duration_seconds_sum?.map(last)).toEqual([66.5]);
    expect(grouped.test_duration_seconds_count?.map(last)).toEqual([4]);
  });

  it('folds series past the per-metric limit into one overflow series', () => {
    const registry = new SeriesRegistry(2);
    for (const step of ['A', 'B', 'C', 'D']) registry.increment(EVENTS, { step, status: 'STARTED' }, 1);
    const series = registry.snapshot(STATIC).timeseries.map(labelsOf);
    expect(series.map((labels) => labels.step)).toEqual(['A', 'B', OVERFLOW_LABEL_VALUE]);
    expect(registry.size).toBe(3);
  });

  it('stops sending a gauge that was removed', () => {
    const registry = new SeriesRegistry();
    registry.set(ACTIVE, { status: 'STARTED' }, 1);
    registry.set(ACTIVE, { status: 'IN_PROGRESS' }, 2);
    registry.remove(ACTIVE, { status: 'STARTED' });
    expect(registry.snapshot(STATIC).timeseries.map((series) => labelsOf(series).status)).toEqual([
      'IN_PROGRESS',
    ]);
  });

  it('keeps every series strictly increasing in time across snapshots, whatever the clock does', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            clock: fc.integer({ min: 1_000_000, max: 1_000_100 }),
            step: fc.constantFrom('A', 'B', 'C'),
            flushOk: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (operations) => {
          let now = 0;
          const registry = new SeriesRegistry(1_000, () => now);
          const lastSeen = new Map<string, number>();
          for (const operation of operations) {
            now = operation.clock; // may stand still or go backwards
            registry.increment(EVENTS, { step: operation.step, status: 'STARTED' }, 1);
            registry.observe(DURATION, {}, 2);
            const snapshot = registry.snapshot(STATIC);
            for (const series of snapshot.timeseries) {
              const key = JSON.stringify(series.labels);
              const timestamps = series.samples.map((sample) => sample.timestamp);
              for (let i = 1; i < timestamps.length; i++) {
                expect(timestamps[i]).toBeGreaterThan(timestamps[i - 1] ?? 0);
              }
              const previous = lastSeen.get(key);
              // What the receiver already holds is older than anything sent now
              // (a zero sample is only sent for a series it does not hold yet).
              if (previous !== undefined) expect(timestamps[0]).toBeGreaterThan(previous);
              if (operation.flushOk) lastSeen.set(key, timestamps[timestamps.length - 1] ?? 0);
            }
            if (operation.flushOk) registry.markAnnounced(snapshot.newSeries);
          }
        },
      ),
    );
  });
});
