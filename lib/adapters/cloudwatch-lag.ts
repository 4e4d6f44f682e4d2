import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { ConsumerLagSource } from '../telemetry/state-gauges';

export interface CloudWatchConsumerLagOptions {
  /** The consume function (its deployed name): `OffsetLag` is published per function. */
  readonly functionName: string;
  /** How far back to look for the latest datapoint; older lag is treated as unknown. */
  readonly lookbackMinutes?: number;
  readonly now?: () => Date;
}

/**
 * The consumer lag of the tracker as Lambda reports it for Kafka event source
 * mappings: `AWS/Lambda` `OffsetLag` (dimension `FunctionName`), the latest
 * one-minute Maximum. Needs `cloudwatch:GetMetricData`.
 */
export class CloudWatchConsumerLag implements ConsumerLagSource {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly options: CloudWatchConsumerLagOptions,
  ) {}

  async latestLag(): Promise<number | null> {
    const end = this.options.now?.() ?? new Date();
    const start = new Date(end.getTime() - (this.options.lookbackMinutes ?? 10) * 60_000);
    const answer = await this.client.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          {
            Id: 'offsetLag',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/Lambda',
                MetricName: 'OffsetLag',
                Dimensions: [{ Name: 'FunctionName', Value: this.options.functionName }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
            ReturnData: true,
          },
        ],
      }),
    );
    const result = answer.MetricDataResults?.find((entry) => entry.Id === 'offsetLag');
    const values = result?.Values ?? [];
    const timestamps = result?.Timestamps ?? [];
    // Newest first (ScanBy), but do not rely on it: pick the latest timestamp.
    let latestAt = Number.NEGATIVE_INFINITY;
    let latest: number | null = null;
    for (const [index, value] of values.entries()) {
      const at = timestamps[index]?.getTime() ?? 0;
      if (at > latestAt) {
        latestAt = at;
        latest = value;
      }
    }
    return latest;
  }
}
