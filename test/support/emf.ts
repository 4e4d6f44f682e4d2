import { Metrics } from '@aws-lambda-powertools/metrics';

/** One CloudWatch EMF document as Powertools Metrics prints it. */
export interface EmfDocument {
  readonly _aws: {
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string;
      readonly Dimensions: string[][];
      readonly Metrics: ReadonlyArray<{ Name: string; Unit: string }>;
    }>;
  };
  readonly [key: string]: unknown;
}

export interface EmfCapture {
  /** A Powertools Metrics that really emits (test-env.ts disables metrics by default). */
  readonly metrics: Metrics;
  readonly documents: EmfDocument[];
  /** The value of `name` in every document that has it. */
  valuesOf(name: string): unknown[];
  restore(): void;
}

/**
 * Captures the EMF lines Powertools prints (with POWERTOOLS_DEV it writes
 * through the global console). Call restore() in afterEach.
 */
export function captureEmf(namespace = 'SagaTrackerTest', serviceName = 'test'): EmfCapture {
  const saved = {
    dev: process.env.POWERTOOLS_DEV,
    disabled: process.env.POWERTOOLS_METRICS_DISABLED,
  };
  process.env.POWERTOOLS_DEV = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const documents: EmfDocument[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    if (typeof line === 'string' && line.includes('"_aws"')) documents.push(JSON.parse(line) as EmfDocument);
  });
  // Powertools warns through console.warn (e.g. an empty flush); keep the test output clean.
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const metrics = new Metrics({ namespace, serviceName });
  return {
    metrics,
    documents,
    valuesOf: (name) => documents.filter((doc) => name in doc).map((doc) => doc[name]),
    restore() {
      spy.mockRestore();
      warn.mockRestore();
      for (const [key, value] of [
        ['POWERTOOLS_DEV', saved.dev],
        ['POWERTOOLS_METRICS_DISABLED', saved.disabled],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    },
  };
}
