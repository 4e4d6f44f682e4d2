import { ArchiveIntegrityError } from '../errors';
import type { ArchivedSagaRow, ArchivedStatusOverrideRow, ArchivedStepRow, ArchiveLine } from './format';
import { parseArchiveLine } from './format';
import { gunzipMember, memberProblem } from './gzip-members';
import type {
  ArchiveIndex,
  ArchiveSearchFilters,
  ArchiveSearchPaging,
  ArchiveSearchRow,
  ArchiveStorage,
  IndexLocation,
} from './ports';

/** An archived saga read back: its rows exactly as they were in PostgreSQL. */
export interface ArchivedSaga {
  readonly archived: true;
  /** When it was archived (PostgreSQL UTC text). */
  readonly archivedAt: string;
  readonly objectKey: string;
  /** The saga_instance row, every column. */
  readonly saga: ArchivedSagaRow;
  /** The saga_steps rows, every column, in event time order. */
  readonly steps: readonly ArchivedStepRow[];
  /** The saga_status_override rows (operators' audit), oldest first. */
  readonly statusOverrides: readonly ArchivedStatusOverrideRow[];
}

/** A saga's member, verified: where it is, its exact JSON text (with the newline) and that text parsed. */
export interface VerifiedLine {
  readonly location: IndexLocation;
  readonly text: string;
  readonly line: ArchiveLine;
}

export interface ArchiveReaderDeps {
  readonly index: ArchiveIndex;
  readonly storage: ArchiveStorage;
}

/**
 * Reads archived sagas back: the index says where the saga's gzip member is,
 * one ranged GET fetches it, and its length and SHA-256 are checked against
 * the index before it is decompressed and parsed. S3 does not verify ranged
 * reads, so this check is what stands between damaged bytes and an answer:
 * any mismatch is an `ArchiveIntegrityError`, never a partial or wrong saga.
 */
export class ArchiveReader {
  constructor(private readonly deps: ArchiveReaderDeps) {}

  /** The archived saga, or null when the index does not know it. */
  async readArchivedSaga(sagaId: string): Promise<ArchivedSaga | null> {
    const [location] = await this.deps.index.locate([sagaId]);
    return location ? this.readAt(location) : null;
  }

  /** Several archived sagas (unknown ids are left out), read concurrently. */
  async readArchivedSagas(sagaIds: readonly string[], concurrency = 8): Promise<Map<string, ArchivedSaga>> {
    const locations = await this.deps.index.locate(sagaIds);
    const found = new Map<string, ArchivedSaga>();
    let next = 0;
    const worker = async () => {
      while (next < locations.length) {
        const location = locations[next++];
        if (location) found.set(location.sagaId, await this.readAt(location));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, locations.length) }, worker));
    return found;
  }

  /** Archived sagas matching the hot search's filters, from the index alone (no S3 read). */
  async searchArchived(
    filters: ArchiveSearchFilters,
    paging: ArchiveSearchPaging,
  ): Promise<{ content: ArchiveSearchRow[]; totalElements: number }> {
    const { rows, total } = await this.deps.index.search(filters, paging);
    return { content: rows, totalElements: total };
  }

  /** The verified line of an archived saga (its exact JSON text too), or null when the index does not know it. */
  async readArchivedLine(sagaId: string): Promise<VerifiedLine | null> {
    const [location] = await this.deps.index.locate([sagaId]);
    return location ? this.readLineAt(location) : null;
  }

  /** Reads and verifies the member at `location`. */
  async readAt(location: IndexLocation): Promise<ArchivedSaga> {
    const { line } = await this.readLineAt(location);
    return {
      archived: true,
      archivedAt: location.archivedAt,
      objectKey: location.objectKey,
      saga: line.saga,
      steps: line.steps,
      statusOverrides: line.statusOverrides,
    };
  }

  async readLineAt(location: IndexLocation): Promise<VerifiedLine> {
    const { sagaId, objectKey } = location;
    const bytes = await this.deps.storage.getRange(objectKey, location.byteOffset, location.byteLength);
    if (bytes === null) throw new ArchiveIntegrityError(sagaId, objectKey, 'the object does not exist');
    const problem = memberProblem(bytes, { length: location.byteLength, sha256: location.sha256 });
    if (problem) throw new ArchiveIntegrityError(sagaId, objectKey, problem);
    let text: string;
    try {
      text = gunzipMember(bytes);
    } catch (error) {
      throw new ArchiveIntegrityError(sagaId, objectKey, `not a gzip member: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      return { location, text, line: parseArchiveLine(text, sagaId) };
    } catch (error) {
      throw new ArchiveIntegrityError(sagaId, objectKey, (error as Error).message, { cause: error });
    }
  }
}
