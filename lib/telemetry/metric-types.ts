import type { MetricUnit } from '@aws-lambda-powertools/metrics';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** How a metric appears in CloudWatch (EMF): its own name, a unit and a bounded set of dimensions. */
export interface CloudWatchMapping<L extends string> {
  readonly name: string;
  readonly unit: Unit;
  /** Labels kept as dimensions; the others are summed away (CloudWatch bills per dimension set). */
  readonly dimensions?: readonly L[];
}

interface MetricBase<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  /** Absent: Prometheus only. */
  readonly cloudWatch?: CloudWatchMapping<L>;
}

export interface CounterDef<L extends string = never> extends MetricBase<L> {
  readonly type: 'counter';
}

export interface GaugeDef<L extends string = never> extends MetricBase<L> {
  readonly type: 'gauge';
}

export interface HistogramDef<L extends string = never> extends MetricBase<L> {
  readonly type: 'histogram';
  /** Upper bounds, ascending; `+Inf` is implicit. */
  readonly buckets: readonly number[];
}

export type MetricDef<L extends string = string> = CounterDef<L> | GaugeDef<L> | HistogramDef<L>;

export type Labels<L extends string> = { readonly [K in L]: string };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Labels the Prometheus sink adds to every series; a metric must not use them. */
export const RESERVED_LABELS = ['job', 'function', 'instance', 'le'] as const;

function checkDef(def: MetricDef<string>): void {
  if (!METRIC_NAME.test(def.name)) throw new Error(`invalid metric name ${def.name}`);
  for (const label of def.labelNames) {
    if (
      !LABEL_NAME.test(label) ||
      label.startsWith('__') ||
      (RESERVED_LABELS as readonly string[]).includes(label)
    ) {
      throw new Error(`invalid label ${label} on ${def.name}`);
    }
  }
}

export function counter<L extends string = never>(def: Omit<CounterDef<L>, 'type'>): CounterDef<L> {
  const full: CounterDef<L> = { ...def, type: 'counter' };
  checkDef(full);
  return full;
}

export function gauge<L extends string = never>(def: Omit<GaugeDef<L>, 'type'>): GaugeDef<L> {
  const full: GaugeDef<L> = { ...def, type: 'gauge' };
  checkDef(full);
  return full;
}

export function histogram<L extends string = never>(def: Omit<HistogramDef<L>, 'type'>): HistogramDef<L> {
  const full: HistogramDef<L> = { ...def, type: 'histogram' };
  checkDef(full);
  for (let i = 1; i < def.buckets.length; i++) {
    if ((def.buckets[i] ?? 0) <= (def.buckets[i - 1] ?? 0)) {
      throw new Error(`buckets of ${def.name} must be strictly ascending`);
    }
  }
  return full;
}
