import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { counter, gauge, histogram } from './metric-types';

/**
 * Every metric the tracker reports, in one place. Names in SPEC §5 are the
 * ones operators already use; do not rename them.
 */

// ---- ingest (consume, dlq-redrive) -------------------------------------------------

export const EVENTS_RECEIVED = counter({
  name: 'saga_events_received_total',
  help: 'Kafka records handed to the tracker (inserted, duplicate or dead-lettered).',
  labelNames: [],
  cloudWatch: { name: 'EventsReceived', unit: MetricUnit.Count },
});

export const EVENTS_PROCESSED = counter<'step' | 'status'>({
  name: 'saga_events_processed_total',
  help: 'Saga events ingested (stored as a new step), by step name and reported status.',
  labelNames: ['step', 'status'],
  cloudWatch: { name: 'EventsInserted', unit: MetricUnit.Count },
});

export const EVENTS_DUPLICATE = counter({
  name: 'saga_events_duplicate_total',
  help: 'Events whose eventId was already stored with the same content (no-ops).',
  labelNames: [],
  cloudWatch: { name: 'EventsDuplicate', unit: MetricUnit.Count },
});

export const DEAD_LETTERS = counter<'reason'>({
  name: 'saga_dead_letters_total',
  help: 'Kafka records kept as dead letters, by reason.',
  labelNames: ['reason'],
  cloudWatch: { name: 'EventsDeadLettered', unit: MetricUnit.Count },
});

export const SAGAS_FAILED = counter({
  name: 'saga_failed_total',
  help: 'Sagas that entered FAILED (counted once per saga).',
  labelNames: [],
  cloudWatch: { name: 'SagasFailed', unit: MetricUnit.Count },
});

export const SAGAS_COMPENSATED = counter({
  name: 'saga_compensated_total',
  help: 'Sagas that entered COMPENSATED (counted once per saga).',
  labelNames: [],
  cloudWatch: { name: 'SagasCompensated', unit: MetricUnit.Count },
});

export const COMPENSATION_DURATION = histogram({
  name: 'saga_compensation_duration_seconds',
  help: 'Time from a saga’s first FAILED step to its first COMPENSATED step (event time).',
  labelNames: [],
  buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 86_400],
  cloudWatch: { name: 'CompensationDuration', unit: MetricUnit.Seconds },
});

// ---- API and database ---------------------------------------------------------------

export const API_LATENCY = histogram<'endpoint' | 'method'>({
  name: 'saga_tracker_api_latency_seconds',
  help: 'API request latency inside the function, by route template and method.',
  labelNames: ['endpoint', 'method'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  cloudWatch: { name: 'ApiLatency', unit: MetricUnit.Seconds, dimensions: ['endpoint'] },
});

export const API_REQUESTS = counter<'endpoint' | 'method' | 'code'>({
  name: 'saga_tracker_api_requests_total',
  help: 'API responses by route template, method and HTTP status code.',
  labelNames: ['endpoint', 'method', 'code'],
});

export const DB_QUERY_DURATION = histogram<'query'>({
  name: 'saga_tracker_db_query_seconds',
  help: 'Database time per named query (or transaction), successful or not.',
  labelNames: ['query'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  cloudWatch: { name: 'DbQueryTime', unit: MetricUnit.Seconds, dimensions: ['query'] },
});

// ---- archive and redrive ------------------------------------------------------------

export const SAGAS_ARCHIVED = counter({
  name: 'saga_archived_total',
  help: 'Sagas moved to cold storage (S3) and removed from the hot store.',
  labelNames: [],
  cloudWatch: { name: 'SagasArchived', unit: MetricUnit.Count },
});

export const ARCHIVE_BYTES = counter({
  name: 'saga_archive_bytes_total',
  help: 'Bytes written to cold storage.',
  labelNames: [],
  cloudWatch: { name: 'ArchiveBytes', unit: MetricUnit.Bytes },
});

export const ARCHIVE_FAILURES = counter({
  name: 'saga_archive_failures_total',
  help: 'Sagas the archiver could not archive in a run (left hot, retried next run).',
  labelNames: [],
  cloudWatch: { name: 'ArchiveFailures', unit: MetricUnit.Count },
});

export const ARCHIVE_OBJECTS = counter({
  name: 'saga_archive_objects_total',
  help: 'Objects written to cold storage.',
  labelNames: [],
  cloudWatch: { name: 'ArchiveObjectsWritten', unit: MetricUnit.Count },
});

export const ARCHIVE_REMAINING = gauge({
  name: 'saga_archive_remaining',
  help: 'Sagas past their retention still hot when the last archive run stopped (time budget, limit).',
  labelNames: [],
  cloudWatch: { name: 'ArchiveSagasRemaining', unit: MetricUnit.Count },
});

export const ARCHIVE_OBJECTS_DAMAGED = counter({
  name: 'saga_archive_objects_damaged_total',
  help: 'Archived objects a verify run found damaged (checksum, length or framing).',
  labelNames: [],
  cloudWatch: { name: 'ArchiveObjectsDamaged', unit: MetricUnit.Count },
});

export const SAGAS_RESTORED = counter({
  name: 'saga_archive_restored_total',
  help: 'Sagas restored from cold storage.',
  labelNames: [],
  cloudWatch: { name: 'SagasRestored', unit: MetricUnit.Count },
});

export const ARCHIVE_READ_DURATION = histogram<'outcome'>({
  name: 'saga_tracker_archive_read_seconds',
  help: 'API reads of one archived saga (archive index lookup, ranged GET from S3, checksum), by outcome: hit, miss (not archived), integrity_error, unavailable, error.',
  labelNames: ['outcome'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  cloudWatch: { name: 'ArchiveReadTime', unit: MetricUnit.Seconds, dimensions: ['outcome'] },
});

export const ARCHIVE_LAST_SUCCESS = gauge({
  name: 'saga_archive_last_success_timestamp_seconds',
  help: 'End of the last archive run that completed without failures (Unix time).',
  labelNames: [],
});

export const DEAD_LETTERS_REDRIVEN = counter<'outcome'>({
  name: 'saga_dead_letters_redriven_total',
  help: 'Dead letters replayed by the redrive function or the replay API, by outcome.',
  labelNames: ['outcome'],
  cloudWatch: { name: 'DeadLettersRedriven', unit: MetricUnit.Count, dimensions: ['outcome'] },
});

// ---- state gauges (functions/state-gauges, every minute) -----------------------------

export const ACTIVE_SAGAS = gauge<'status'>({
  name: 'saga_active_total',
  help: 'Sagas currently in each non-terminal status.',
  labelNames: ['status'],
  cloudWatch: { name: 'ActiveSagas', unit: MetricUnit.Count, dimensions: ['status'] },
});

export const RECENT_SAGAS = gauge<'status'>({
  name: 'saga_recent_by_status',
  help: 'Sagas with a step in the last 24 hours, by current status (the status distribution).',
  labelNames: ['status'],
});

export const STUCK_SAGAS = gauge({
  name: 'saga_stuck',
  help: 'Sagas in a non-terminal status whose latest step is older than the stuck threshold.',
  labelNames: [],
  cloudWatch: { name: 'StuckSagas', unit: MetricUnit.Count },
});

export const FAILED_UNCOMPENSATED = gauge({
  name: 'saga_failed_uncompensated',
  help: 'Sagas in FAILED with no COMPENSATED step, failed longer ago than the compensation timeout.',
  labelNames: [],
  cloudWatch: { name: 'FailedUncompensated', unit: MetricUnit.Count },
});

export const FAILED_UNCOMPENSATED_OLDEST = gauge({
  name: 'saga_failed_uncompensated_oldest_seconds',
  help: 'Age of the oldest saga counted in saga_failed_uncompensated (0 when there is none).',
  labelNames: [],
});

export const PENDING_DEAD_LETTERS = gauge<'reason'>({
  name: 'saga_dead_letters_pending',
  help: 'Dead letters waiting for redrive or an operator (status PENDING), by reason.',
  labelNames: ['reason'],
  cloudWatch: { name: 'PendingDeadLetters', unit: MetricUnit.Count },
});

export const CONSUMER_LAG = gauge({
  name: 'saga_tracker_consumer_lag',
  help: 'Kafka consumer lag of the tracker: OffsetLag of the consume function’s event source mapping.',
  labelNames: [],
});

export const TRACKER_UP = gauge({
  name: 'saga_tracker_up',
  help: '1 when the last state check reached the database, else 0.',
  labelNames: [],
});

// ---- the telemetry itself -----------------------------------------------------------

export const INVOCATIONS = counter<'outcome'>({
  name: 'saga_tracker_invocations_total',
  help: 'Lambda invocations by outcome (success or error).',
  labelNames: ['outcome'],
});

export const FLUSH_FAILURES = counter<'sink'>({
  name: 'saga_tracker_metrics_flush_failures_total',
  help: 'Metric flushes that failed (the invocation went on); sent with the next successful flush.',
  labelNames: ['sink'],
  cloudWatch: { name: 'MetricsFlushFailed', unit: MetricUnit.Count, dimensions: ['sink'] },
});
