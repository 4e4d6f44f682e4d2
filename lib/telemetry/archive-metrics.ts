import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ArchiveReport } from '../archive/report';

/** Records an archiver run's report in CloudWatch: the same numbers the handler logs and returns. */
export function recordArchiveMetrics(metrics: Metrics, report: ArchiveReport): void {
  if (report.dryRun) {
    metrics.addMetric('ArchiveEligibleSagas', MetricUnit.Count, report.remaining);
    return;
  }
  metrics.addMetric('SagasArchived', MetricUnit.Count, report.archived);
  metrics.addMetric('ArchivedSteps', MetricUnit.Count, report.steps);
  metrics.addMetric('ArchiveObjectsWritten', MetricUnit.Count, report.objects);
  metrics.addMetric('ArchiveBytesWritten', MetricUnit.Bytes, report.bytes);
  metrics.addMetric('ArchiveSagasSkipped', MetricUnit.Count, report.skipped);
  metrics.addMetric('ArchiveSagasRemaining', MetricUnit.Count, report.remaining);
  metrics.addMetric('ArchiveOrphansRemoved', MetricUnit.Count, report.orphansRemoved);
  metrics.addMetric('ArchiveRunDuration', MetricUnit.Milliseconds, report.durationMs);
  metrics.addMetric(
    'ArchiveRunsSkippedLeaseHeld',
    MetricUnit.Count,
    report.stoppedBy === 'lease-held' ? 1 : 0,
  );
}
