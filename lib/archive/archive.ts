import { randomUUID } from 'node:crypto';
import type { ArchiveRules } from '../config/archive';
import { ArchiveIntegrityError } from '../errors';
import { eligibilityCriteria } from './eligibility';
import { encodeGzipMembers } from './gzip-members';
import { archiveObjectKey } from './keys';
import type { ArchiveStorage, ArchiveStore, CandidateSaga, ObjectManifest, ScanCursor } from './ports';
import type { VerifiedLine } from './reader';
import type { ArchiveReport } from './report';
import { addCounts, newReport, total } from './report';

export interface ArchiveRunOptions {
  readonly rules: ArchiveRules;
  /** Key prefix of the objects, without a trailing slash. */
  readonly prefix: string;
  /** Most sagas read per chunk. */
  readonly chunkSize: number;
  /** No chunk starts unless the slowest chunk so far still fits in what is left of it. */
  readonly timeBudgetMs: number;
  /** Most sagas this run considers. */
  readonly maxSagas?: number | undefined;
  readonly gzipLevel: number;
  /** Count what would be archived; change nothing. */
  readonly dryRun?: boolean | undefined;
  /** Only these saga types. */
  readonly sagaTypes?: readonly string[] | undefined;
  readonly runId?: string | undefined;
  /** How long the lease holds other runs off; longer than this run can last. */
  readonly leaseMs: number;
  /**
   * Tries at building one object: when sagas change between the read and the
   * delete, the object is rebuilt without them so every line of a committed
   * object is one the index points to. After the last try the changed sagas'
   * lines stay in the object, unreferenced.
   */
  readonly objectAttempts?: number | undefined;
  /** Objects uploaded and committed at once (default 2); each takes a database connection. */
  readonly objectConcurrency?: number | undefined;
}

/** Structured logging (Powertools Logger fits). */
export interface ArchiveLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface ArchiveRunDeps {
  readonly store: ArchiveStore;
  readonly storage: ArchiveStorage;
  readonly reader: { readArchivedLine(sagaId: string): Promise<VerifiedLine | null> };
  readonly now?: () => number;
  readonly log?: ArchiveLog;
  /** Runs after each confirmed upload, before its commit: where tests inject crashes and races. */
  readonly afterUpload?: (object: ObjectManifest, sagaIds: readonly string[]) => Promise<void>;
}

const silent: ArchiveLog = { info: () => undefined, warn: () => undefined };

/**
 * One archiver run: sagas past their retention move, chunk by chunk, to
 * gzip NDJSON objects in S3 and leave PostgreSQL. For each object: register it
 * as pending, upload it with its SHA-256, confirm it, then in one transaction
 * delete the sagas that did not change meanwhile and write their index
 * entries. A crash anywhere leaves every saga either hot or archived, never
 * lost and never both; the next run deletes objects a crashed run uploaded
 * but never committed.
 */
export async function archiveEligibleSagas(
  deps: ArchiveRunDeps,
  options: ArchiveRunOptions,
): Promise<ArchiveReport> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? silent;
  const startedAt = now();
  const runId = options.runId ?? randomUUID();
  const report = newReport(runId, options.dryRun ?? false, startedAt);
  const criteria = eligibilityCriteria(options.rules, startedAt, options.sagaTypes);
  const finish = async (): Promise<ArchiveReport> => {
    report.remainingByType = await deps.store.countEligible(criteria);
    report.remaining = total(report.remainingByType);
    report.durationMs = now() - startedAt;
    return report;
  };

  if (options.dryRun) {
    report.stoppedBy = 'dry-run';
    return finish();
  }
  if (!(await deps.store.acquireLease(runId, options.leaseMs))) {
    report.stoppedBy = 'lease-held';
    log.warn('another archiver run holds the lease; nothing done', { runId });
    return finish();
  }
  try {
    report.orphansRemoved = await removeOrphans(deps, log);
    const run = new ObjectWriter(deps, options, runId, report, log);
    const roomAfter = (count: number) =>
      options.maxSagas === undefined ? options.chunkSize : options.maxSagas - count;
    let cursor: ScanCursor | null = null;
    let considered = 0;
    let slowestChunkMs = 0;
    let prefetched: Promise<CandidateSaga[]> | null = null;
    for (;;) {
      const room = roomAfter(considered);
      if (room <= 0) {
        report.stoppedBy = 'limit';
        break;
      }
      if (now() - startedAt + slowestChunkMs >= options.timeBudgetMs) {
        report.stoppedBy = 'time-budget';
        break;
      }
      const chunkStarted = now();
      const limit = Math.min(options.chunkSize, room);
      const candidates: CandidateSaga[] = await (prefetched ??
        deps.store.selectCandidates(criteria, cursor, limit));
      prefetched = null;
      const last = candidates.at(-1);
      if (!last) break;
      cursor = last.cursor;
      considered += candidates.length;
      const full = candidates.length >= limit;
      const nextRoom = roomAfter(considered);
      if (full && nextRoom > 0) {
        // Read the next chunk while this one is written. Reading early is safe: a saga that changes
        // before its commit fails the version check and stays hot.
        prefetched = deps.store.selectCandidates(criteria, cursor, Math.min(options.chunkSize, nextRoom));
        prefetched.catch(() => undefined);
      }
      const ready = await run.mergeReheated(candidates);
      await run.writeObjects(groupByPartition(ready));
      slowestChunkMs = Math.max(slowestChunkMs, now() - chunkStarted);
      if (!full) break;
    }
  } finally {
    await deps.store.releaseLease(runId);
  }
  return finish();
}

async function removeOrphans(deps: ArchiveRunDeps, log: ArchiveLog): Promise<number> {
  const orphans = await deps.store.pendingObjectKeys();
  for (const key of orphans) await deps.storage.deleteObject(key);
  if (orphans.length > 0) {
    await deps.store.forgetPendingObjects(orphans);
    log.warn('removed objects a crashed run uploaded but never committed', { objectKeys: orphans });
  }
  return orphans.length;
}

/** Consecutive candidates of one saga type and day make one object. */
export function groupByPartition(candidates: readonly CandidateSaga[]): CandidateSaga[][] {
  const groups = new Map<string, CandidateSaga[]>();
  for (const candidate of candidates) {
    const key = `${candidate.sagaType}\u0000${candidate.partitionDate}`;
    const group = groups.get(key);
    if (group) group.push(candidate);
    else groups.set(key, [candidate]);
  }
  return [...groups.values()];
}

class ObjectWriter {
  constructor(
    private readonly deps: ArchiveRunDeps,
    private readonly options: ArchiveRunOptions,
    private readonly runId: string,
    private readonly report: ArchiveReport,
    private readonly log: ArchiveLog,
  ) {}

  /**
   * A re-heated saga (archived, then hot again after a late event) is archived
   * with its whole timeline: the steps of its earlier archive and its hot ones.
   */
  async mergeReheated(candidates: readonly CandidateSaga[]): Promise<CandidateSaga[]> {
    const ready: CandidateSaga[] = [];
    for (const candidate of candidates) {
      if (!candidate.reheated) {
        ready.push(candidate);
        continue;
      }
      let earlier: VerifiedLine | null;
      try {
        earlier = await this.deps.reader.readArchivedLine(candidate.sagaId);
      } catch (error) {
        if (!(error instanceof ArchiveIntegrityError)) throw error;
        // Archiving it now would drop the steps only that archive holds: leave it hot for an operator.
        this.report.skipped++;
        this.report.skippedUnreadable++;
        this.log.warn('saga left hot: its earlier archive is unreadable', {
          sagaId: candidate.sagaId,
          error: error.message,
        });
        continue;
      }
      if (!earlier) {
        ready.push(candidate);
        continue;
      }
      const merged = await this.deps.store.mergeWithArchived(candidate.sagaId, earlier.text);
      if (merged) ready.push({ ...merged, cursor: candidate.cursor });
    }
    return ready;
  }

  /** Writes the objects a few at a time; the first failure stops new ones and is thrown once all in flight end. */
  async writeObjects(groups: readonly CandidateSaga[][]): Promise<void> {
    const failures: unknown[] = [];
    let next = 0;
    const worker = async () => {
      while (failures.length === 0 && next < groups.length) {
        const group = groups[next++] as CandidateSaga[];
        try {
          await this.writeObject(group);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const concurrency = Math.max(1, this.options.objectConcurrency ?? 2);
    await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
    if (failures.length > 0) throw failures[0];
  }

  async writeObject(group: readonly CandidateSaga[]): Promise<void> {
    const attempts = Math.max(1, this.options.objectAttempts ?? 3);
    let members = [...group];
    for (let attempt = 1; members.length > 0; attempt++) {
      const first = members[0] as CandidateSaga;
      const encoded = await encodeGzipMembers(
        members.map((candidate) => `${candidate.line}\n`),
        this.options.gzipLevel,
      );
      const manifest: ObjectManifest = {
        objectKey: archiveObjectKey({
          prefix: this.options.prefix,
          sagaType: first.sagaType,
          partitionDate: first.partitionDate,
          contentSha256: encoded.sha256Hex,
        }),
        bucket: this.deps.storage.bucket,
        sagaType: first.sagaType,
        partitionDate: first.partitionDate,
        lineCount: members.length,
        stepCount: members.reduce((sum, candidate) => sum + candidate.stepCount, 0),
        byteCount: encoded.body.length,
        sha256Base64: encoded.sha256Base64,
      };
      const sagaIds = members.map((candidate) => candidate.sagaId);
      // Registered first: if the run dies after the upload, the next one knows the object is an orphan.
      const registered = await this.deps.store.registerPendingObject(manifest, this.runId);
      await this.deps.storage.putObject(manifest.objectKey, encoded.body, encoded.sha256Base64);
      await this.deps.afterUpload?.(manifest, sagaIds);
      const entries = members.map((candidate, index) => {
        const member = encoded.members[index];
        if (!member) throw new Error('one gzip member per line');
        return {
          sagaId: candidate.sagaId,
          version: candidate.version,
          eventIds: candidate.eventIds,
          byteOffset: member.offset,
          byteLength: member.length,
          sha256Hex: member.sha256.toString('hex'),
        };
      });
      const result = await this.deps.store.commitObject(manifest, entries, {
        runId: this.runId,
        allowPartial: attempt >= attempts,
      });
      this.report.skipped += result.changed.length;
      this.report.skippedChanged += result.changed.length;
      if (result.changed.length > 0) {
        this.log.info('sagas changed while being archived; they stay hot', {
          objectKey: manifest.objectKey,
          sagaIds: result.changed,
        });
      }
      if (result.committed) {
        const archived = new Set(result.archived);
        const kept = members.filter((candidate) => archived.has(candidate.sagaId));
        this.report.archived += kept.length;
        this.report.steps += kept.reduce((sum, candidate) => sum + candidate.stepCount, 0);
        this.report.objects++;
        this.report.bytes += encoded.body.length;
        this.report.rawBytes += encoded.rawBytes;
        addCounts(this.report.archivedByType, first.sagaType, kept.length);
        this.log.info('object archived', {
          objectKey: manifest.objectKey,
          sagas: kept.length,
          lines: members.length,
          bytes: encoded.body.length,
        });
        return;
      }
      // Nothing was committed: drop this object and build one without the changed sagas.
      if (registered === 'pending') {
        await this.deps.storage.deleteObject(manifest.objectKey);
        await this.deps.store.forgetPendingObjects([manifest.objectKey]);
      }
      const changed = new Set(result.changed);
      members = members.filter((candidate) => !changed.has(candidate.sagaId));
    }
  }
}
