import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { IngestResult } from '../ingest/ingest';

/** Records an ingest's counts in CloudWatch: the same numbers the handler returns and logs. */
export function recordIngestMetrics(metrics: Metrics, result: IngestResult): void {
  const { summary, sagaChanges } = result;
  metrics.addMetric('EventsReceived', MetricUnit.Count, summary.received);
  metrics.addMetric('EventsInserted', MetricUnit.Count, summary.inserted);
  metrics.addMetric('EventsDuplicate', MetricUnit.Count, summary.duplicates);
  metrics.addMetric('EventsDeadLettered', MetricUnit.Count, summary.deadLettered);
  metrics.addMetric(
    'SagasFailed',
    MetricUnit.Count,
    sagaChanges.filter((change) => change.enteredFailed).length,
  );
  metrics.addMetric(
    'SagasCompensated',
    MetricUnit.Count,
    sagaChanges.filter((change) => change.enteredCompensated).length,
  );
}
