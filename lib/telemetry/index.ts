import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { remoteWriteClientFor } from '../adapters/remote-write';
import type { RemoteWriteClient } from '../adapters/remote-write/client';
import { parseEnv } from '../config';
import type { RemoteWriteConfig } from '../config/telemetry';
import { remoteWriteEnvSchema, toRemoteWriteConfig } from '../config/telemetry';
import { CloudWatchSink } from './cloudwatch-sink';
import { PrometheusSink } from './prometheus-sink';
import type { MetricSink } from './sink';
import type { TelemetryLogger } from './telemetry';
import { newInstanceId, Telemetry } from './telemetry';

export {
  type ArchiveRunCounts,
  type RedriveOutcome,
  recordArchiveRestore,
  recordArchiveRun,
  recordRedriveOutcomes,
  timeArchiveRead,
} from './archive-metrics';
export { type ApiMetricsOptions, apiMetrics, routeMatcher, timeQuery } from './http-metrics';
export { recordIngestMetrics } from './ingest-metrics';
export { type FlushMetricsOptions, flushMetrics } from './middleware';
export type { MetricsRecorder } from './telemetry';
export { Telemetry, timed } from './telemetry';

export const DEFAULT_METRICS_NAMESPACE = 'SagaTracker';

/** Powertools Logger; level and sampling come from the POWERTOOLS_* environment. */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName });
}

/** Powertools Metrics (CloudWatch EMF) under the project's namespace. */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? serviceName,
  });
}

export const PROMETHEUS_JOB = 'saga-tracker';

export interface CreateTelemetryOptions {
  /** Short function name (`consume`, `api`, `archive`, `dlq-redrive`, `state-gauges`): the `function` label. */
  readonly functionName: string;
  readonly logger: TelemetryLogger & { info?(message: string, ...extra: unknown[]): void };
  /** Powertools Metrics of the function: the CloudWatch sink. */
  readonly metrics: Metrics;
  readonly remoteWrite: RemoteWriteConfig;
  /** The environment's id; random by default (one per cold start). */
  readonly instance?: string;
  /** Replaces the HTTP client built from `remoteWrite` (tests, benchmarks). */
  readonly client?: Pick<RemoteWriteClient, 'send'>;
}

/**
 * The recorder of one Lambda environment: Prometheus remote write when
 * configured, CloudWatch always. Create it once, outside the handler.
 */
export function createTelemetry(options: CreateTelemetryOptions): Telemetry {
  const sinks: MetricSink[] = [];
  const { remoteWrite, logger } = options;
  if (remoteWrite.enabled) {
    const instance = options.instance ?? newInstanceId();
    sinks.push(
      new PrometheusSink({
        client: options.client ?? remoteWriteClientFor(remoteWrite),
        labels: {
          ...remoteWrite.staticLabels,
          job: PROMETHEUS_JOB,
          function: options.functionName,
          instance,
        },
        onRejected: (detail) => logger.warn('remote-write endpoint refused the samples', detail),
      }),
    );
    const endpoint = new URL(remoteWrite.url);
    logger.info?.('metrics go to Prometheus remote write', {
      // Never log credentials that may sit in the URL.
      url: `${endpoint.origin}${endpoint.pathname}`,
      auth: remoteWrite.auth.mode,
      instance,
    });
  }
  sinks.push(new CloudWatchSink(options.metrics));
  return new Telemetry(sinks, logger, remoteWrite.enabled ? remoteWrite.timeoutMs : 2_000);
}

/** `createTelemetry` configured from PROMETHEUS_REMOTE_WRITE_* (fails at cold start on bad values). */
export function telemetryFromEnv(
  functionName: string,
  deps: Pick<CreateTelemetryOptions, 'logger' | 'metrics'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Telemetry {
  const remoteWrite = toRemoteWriteConfig(parseEnv(remoteWriteEnvSchema, env));
  return createTelemetry({ functionName, ...deps, remoteWrite });
}
