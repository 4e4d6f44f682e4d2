import { ArchiveIntegrityError } from '../errors';
import type { ArchiveReader, VerifiedLine } from './reader';

export interface RestoreReport {
  readonly requested: number;
  /** Back in saga_instance/saga_steps exactly as archived; their index entries are gone. */
  readonly restored: readonly string[];
  /** Not in the archive index (never archived, or restored already). */
  readonly notArchived: readonly string[];
  readonly failed: ReadonlyArray<{ readonly sagaId: string; readonly error: string }>;
}

export interface RestoreDeps {
  readonly reader: Pick<ArchiveReader, 'readArchivedLine'>;
  readonly index: { restore(lines: readonly VerifiedLine[]): Promise<string[]> };
}

/**
 * Brings archived sagas back into the hot tables (an operator's repair tool).
 * Each saga is read and verified first; sagas whose archive is damaged are
 * reported and left archived. A restored saga that is still eligible goes
 * back to S3 with the next archiver run.
 */
export async function restoreArchivedSagas(
  deps: RestoreDeps,
  sagaIds: readonly string[],
): Promise<RestoreReport> {
  const unique = [...new Set(sagaIds)];
  const lines: VerifiedLine[] = [];
  const notArchived: string[] = [];
  const failed: Array<{ sagaId: string; error: string }> = [];
  for (const sagaId of unique) {
    try {
      const line = await deps.reader.readArchivedLine(sagaId);
      if (line) lines.push(line);
      else notArchived.push(sagaId);
    } catch (error) {
      if (!(error instanceof ArchiveIntegrityError)) throw error;
      failed.push({ sagaId, error: error.message });
    }
  }
  const restored = await deps.index.restore(lines);
  const done = new Set(restored);
  for (const line of lines) {
    if (!done.has(line.location.sagaId))
      failed.push({
        sagaId: line.location.sagaId,
        error: 'its archive entry changed while restoring; retry',
      });
  }
  return { requested: unique.length, restored, notArchived, failed };
}
