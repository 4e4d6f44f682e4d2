import { ArchiveIntegrityError, TransientError } from '../errors';
import {
  ARCHIVE_BYTES,
  ARCHIVE_FAILURES,
  ARCHIVE_LAST_SUCCESS,
  ARCHIVE_OBJECTS,
  ARCHIVE_OBJECTS_DAMAGED,
  ARCHIVE_READ_DURATION,
  ARCHIVE_REMAINING,
  DEAD_LETTERS_REDRIVEN,
  SAGAS_ARCHIVED,
  SAGAS_RESTORED,
} from './metrics';
import type { MetricsRecorder } from './telemetry';

export interface ArchiveRunCounts {
  /** Sagas written to cold storage and removed from the hot store. */
  readonly archived: number;
  /** Bytes written to S3 in the run. */
  readonly bytes?: number;
  /** Sagas that could not be archived in the run (they stay hot and are retried). */
  readonly failed?: number;
  /** Objects written in the run. */
  readonly objects?: number;
  /** Sagas past retention still hot when the run stopped. */
  readonly remaining?: number;
  /** When the run ended (ms); a run without failures also sets the last-success gauge. */
  readonly finishedAt?: number;
}

/** What the archive function calls once per run, before it returns. */
export function recordArchiveRun(recorder: MetricsRecorder, run: ArchiveRunCounts): void {
  recorder.increment(SAGAS_ARCHIVED, {}, run.archived);
  recorder.increment(ARCHIVE_BYTES, {}, run.bytes ?? 0);
  recorder.increment(ARCHIVE_FAILURES, {}, run.failed ?? 0);
  recorder.increment(ARCHIVE_OBJECTS, {}, run.objects ?? 0);
  if (run.remaining !== undefined) recorder.set(ARCHIVE_REMAINING, {}, run.remaining);
  if ((run.failed ?? 0) === 0) {
    recorder.set(ARCHIVE_LAST_SUCCESS, {}, Math.floor((run.finishedAt ?? Date.now()) / 1000));
  }
}

/** What a restore from cold storage (API or archive function) calls once per restored saga batch. */
export function recordArchiveRestore(recorder: MetricsRecorder, restored: number): void {
  recorder.increment(SAGAS_RESTORED, {}, restored);
}

/** What a verify run over the archive calls with the objects it found damaged. */
export function recordArchiveDamage(recorder: MetricsRecorder, damaged: number): void {
  recorder.increment(ARCHIVE_OBJECTS_DAMAGED, {}, damaged);
}

export type RedriveOutcome = 'replayed' | 'failed' | 'skipped';

/**
 * What the redrive function (and the replay API) call per run: how many dead
 * letters were replayed into the store, failed again, or skipped (already
 * resolved, dry run). The replayed events themselves are counted by
 * `recordIngestMetrics` on the ingest result.
 */
export function recordRedriveOutcomes(
  recorder: MetricsRecorder,
  counts: Readonly<Partial<Record<RedriveOutcome, number>>>,
): void {
  for (const [outcome, count] of Object.entries(counts)) {
    recorder.increment(DEAD_LETTERS_REDRIVEN, { outcome }, count ?? 0);
  }
}

export type ArchiveReadOutcome = 'hit' | 'miss' | 'integrity_error' | 'unavailable' | 'error';

function readFailureOutcome(error: unknown): ArchiveReadOutcome {
  if (error instanceof ArchiveIntegrityError) return 'integrity_error';
  if (error instanceof TransientError) return 'unavailable';
  return 'error';
}

/**
 * Times one read of an archived saga (index lookup, ranged GET, checksum) into
 * `saga_tracker_archive_read_seconds{outcome}`: `hit`, `miss` (the index does
 * not know the saga), `integrity_error` (damaged bytes, never served),
 * `unavailable` (S3 or the database did not answer) or `error`.
 */
export async function timeArchiveRead<T>(
  recorder: MetricsRecorder,
  read: () => Promise<T | null>,
): Promise<T | null> {
  const started = process.hrtime.bigint();
  let outcome: ArchiveReadOutcome = 'error';
  try {
    const result = await read();
    outcome = result === null ? 'miss' : 'hit';
    return result;
  } catch (error) {
    outcome = readFailureOutcome(error);
    throw error;
  } finally {
    recorder.observe(ARCHIVE_READ_DURATION, { outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
