import type { MetricDef } from './metric-types';

/** One recorded measurement, as every sink receives it. */
export interface Measurement {
  /** `unset`: a gauge whose value is unknown now stops being reported. */
  readonly kind: 'increment' | 'set' | 'observe' | 'unset';
  readonly metric: MetricDef;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface SinkFlushResult {
  readonly sink: string;
  readonly ok: boolean;
  /** Nothing to send (or the sink is switched off). */
  readonly skipped?: boolean;
  readonly series?: number;
  readonly samples?: number;
  /** Bytes on the wire (compressed) for one attempt. */
  readonly bytes?: number;
  readonly uncompressedBytes?: number;
  readonly attempts?: number;
  readonly status?: number;
  readonly error?: string;
  readonly durationMs: number;
}

/** A metrics backend behind the recording API. */
export interface MetricSink {
  readonly name: string;
  record(measurement: Measurement): void;
  /** Sends what was recorded; must resolve (never reject) and give up by `deadline` (epoch ms). */
  flush(deadline: number): Promise<SinkFlushResult>;
}
