/** Why a run ended. */
export type ArchiveStopReason =
  /** Nothing eligible is left. */
  | 'done'
  /** No new chunk fits in the time budget; the next run resumes. */
  | 'time-budget'
  /** The run's saga limit was reached. */
  | 'limit'
  /** Another run holds the lease; this one did nothing. */
  | 'lease-held'
  /** A dry run: counted, changed nothing. */
  | 'dry-run';

/** What one run did: logged, returned, and recorded as metrics. */
export interface ArchiveReport {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  durationMs: number;
  stoppedBy: ArchiveStopReason;
  /** Sagas moved to S3 and deleted from PostgreSQL. */
  archived: number;
  /** Their steps. */
  steps: number;
  /** Objects committed. */
  objects: number;
  /** Compressed bytes of those objects, and the NDJSON bytes before compression. */
  bytes: number;
  rawBytes: number;
  /** Eligible sagas left hot this run: changed while being archived, or an earlier archive unreadable. */
  skipped: number;
  skippedChanged: number;
  skippedUnreadable: number;
  /** Eligible sagas still in PostgreSQL when the run ended (for a dry run: what a run would archive). */
  remaining: number;
  remainingByType: Record<string, number>;
  /** Objects left by a crashed run (uploaded, never committed) that this run deleted. */
  orphansRemoved: number;
  archivedByType: Record<string, number>;
}

export function newReport(runId: string, dryRun: boolean, startedAt: number): ArchiveReport {
  return {
    runId,
    dryRun,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: 0,
    stoppedBy: 'done',
    archived: 0,
    steps: 0,
    objects: 0,
    bytes: 0,
    rawBytes: 0,
    skipped: 0,
    skippedChanged: 0,
    skippedUnreadable: 0,
    remaining: 0,
    remainingByType: {},
    orphansRemoved: 0,
    archivedByType: {},
  };
}

export function addCounts(target: Record<string, number>, key: string, count: number): void {
  target[key] = (target[key] ?? 0) + count;
}

export function total(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}
