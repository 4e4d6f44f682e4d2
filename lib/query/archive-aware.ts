import type { ArchivedSaga } from '../archive/reader';
import type { SagaRow, StatusOverrideRow, StepRow } from './serialize';
import { compareStepsInEventTime, toIso } from './serialize';
import type { SagaTimeline, SagaTimelineSource } from './store';

/**
 * Reads one archived saga: the archive index says where its gzip member is,
 * a ranged GET fetches it and its checksum is verified (`ArchiveReader` of
 * lib/archive). Null when the index does not know the saga.
 */
export interface ArchivedSagaReader {
  readArchivedSaga(sagaId: string): Promise<ArchivedSaga | null>;
}

/** The archived saga row as the API's row: the row as it was hot, marked archived. */
function archivedSagaRow(archived: ArchivedSaga): SagaRow {
  return { ...archived.saga, archived: true, archived_at: archived.archivedAt };
}

function archivedTimeline(archived: ArchivedSaga): SagaTimeline {
  return {
    saga: archivedSagaRow(archived),
    // The archived rows carry every column of the hot ones, as PostgreSQL rendered them to JSON.
    steps: archived.steps as unknown as StepRow[],
    overrides: archived.statusOverrides as unknown as StatusOverrideRow[],
  };
}

function compareOverrides(a: StatusOverrideRow, b: StatusOverrideRow): number {
  const byTime = Date.parse(toIso(a.overridden_at)) - Date.parse(toIso(b.overridden_at));
  return byTime !== 0 ? byTime : Number(a.id) - Number(b.id);
}

function uniqueBy<T>(rows: readonly T[], key: (row: T) => string): T[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const id = key(row);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * A re-heated saga (archived, then hot again because a late event arrived):
 * its hot row already folds every step, archived ones included; its timeline
 * is the union of the archived steps and the hot ones in event-time order,
 * each event once (if the archiver archived it again meanwhile, the new
 * archive holds the hot steps too), and likewise for the overrides.
 */
export function mergeReheatedTimeline(hot: SagaTimeline, archived: ArchivedSaga): SagaTimeline {
  const cold = archivedTimeline(archived);
  return {
    saga: hot.saga,
    steps: uniqueBy([...hot.steps, ...cold.steps], (step) => step.event_id).sort(compareStepsInEventTime),
    overrides: uniqueBy([...hot.overrides, ...cold.overrides], (entry) => String(entry.id)).sort(
      compareOverrides,
    ),
  };
}

/**
 * Single-saga reads that fall back to cold storage: a saga no longer in the
 * hot tables is read from its archive, and answers as it did when hot, marked
 * `archived`. Damaged archived bytes raise `ArchiveIntegrityError`, an
 * unreachable bucket a `TransientError`: never a partial or wrong answer.
 */
export class ArchiveAwareSagaSource implements SagaTimelineSource {
  constructor(
    private readonly hot: SagaTimelineSource,
    private readonly archive: ArchivedSagaReader,
  ) {}

  async findSaga(sagaId: string): Promise<SagaRow | null> {
    const row = await this.hot.findSaga(sagaId);
    if (row) return row;
    const archived = await this.archive.readArchivedSaga(sagaId);
    return archived ? archivedSagaRow(archived) : null;
  }

  async findTimeline(sagaId: string): Promise<SagaTimeline | null> {
    const hot = await this.hot.findTimeline(sagaId);
    if (hot) {
      if (hot.saga.archived_at === null || hot.saga.archived_at === undefined) return hot;
      const archived = await this.archive.readArchivedSaga(sagaId);
      return archived ? mergeReheatedTimeline(hot, archived) : hot;
    }
    const archived = await this.archive.readArchivedSaga(sagaId);
    return archived ? archivedTimeline(archived) : null;
  }
}
