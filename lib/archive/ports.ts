import type { EligibilityCriteria } from './eligibility';
import type { ArchivedSagaRow } from './format';

/** A saga picked for archiving, with its line built from one consistent read of its rows. */
export interface CandidateSaga {
  readonly sagaId: string;
  readonly sagaType: string;
  /** UTC day of `updated_at`, `YYYY-MM-DD`. */
  readonly partitionDate: string;
  /** Keyset position of this saga in the scan: its `updated_at` (full precision) and id. */
  readonly cursor: ScanCursor;
  /**
   * Hash of the saga row as read. The delete only removes the row if it still
   * hashes the same: any change (a new step bumps step_count, updated_at,
   * last_event_id; an operator's status change) keeps the saga hot.
   */
  readonly version: string;
  /** The NDJSON line without its newline. */
  readonly line: string;
  readonly eventIds: readonly string[];
  readonly stepCount: number;
  /** The saga is also in the archive index: it was archived, got a late event, and is hot again. */
  readonly reheated: boolean;
}

export interface ScanCursor {
  readonly updatedAt: string;
  readonly sagaId: string;
}

/** One object as the manifest table records it. */
export interface ObjectManifest {
  readonly objectKey: string;
  readonly bucket: string;
  readonly sagaType: string;
  readonly partitionDate: string;
  readonly lineCount: number;
  readonly stepCount: number;
  readonly byteCount: number;
  readonly sha256Base64: string;
}

/** Where one saga's member sits in its object. */
export interface IndexEntry {
  readonly sagaId: string;
  readonly version: string;
  readonly eventIds: readonly string[];
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly sha256Hex: string;
}

export type CommitResult =
  | { readonly committed: true; readonly archived: readonly string[]; readonly changed: readonly string[] }
  /** Some sagas changed and partial commits were not allowed: nothing was committed. */
  | { readonly committed: false; readonly changed: readonly string[] };

/** The archiver's database side. */
export interface ArchiveStore {
  acquireLease(holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(holder: string): Promise<void>;
  /** Objects registered before an upload whose run never committed them. */
  pendingObjectKeys(): Promise<string[]>;
  forgetPendingObjects(objectKeys: readonly string[]): Promise<void>;
  selectCandidates(
    criteria: EligibilityCriteria,
    after: ScanCursor | null,
    limit: number,
  ): Promise<CandidateSaga[]>;
  /**
   * The line of a re-heated saga: its hot row with its archived and hot steps
   * together, or null when it is no longer hot.
   */
  mergeWithArchived(sagaId: string, archivedLine: string): Promise<CandidateSaga | null>;
  /**
   * Records the object as PENDING for this run before its upload. Answers
   * 'committed' when an object with these very bytes is already committed
   * (the key names the content), which must then never be deleted.
   */
  registerPendingObject(object: ObjectManifest, runId: string): Promise<'pending' | 'committed'>;
  /**
   * In one transaction: deletes the sagas whose rows are unchanged, writes
   * their index entries, and marks the object committed — provided `runId`
   * still holds the lease. With `allowPartial` false, a single changed saga
   * rolls it all back.
   */
  commitObject(
    object: ObjectManifest,
    entries: readonly IndexEntry[],
    options: { readonly runId: string; readonly allowPartial: boolean },
  ): Promise<CommitResult>;
  countEligible(criteria: EligibilityCriteria): Promise<Record<string, number>>;
}

/** A committed object as the manifest and the index describe it, for a verify run. */
export interface ObjectToVerify {
  readonly objectKey: string;
  readonly byteCount: number;
  readonly sha256Base64: string;
  readonly members: ReadonlyArray<{
    readonly sagaId: string;
    readonly byteOffset: number;
    readonly byteLength: number;
    readonly sha256: Buffer;
  }>;
}

/** The verify run's database side. */
export interface VerifyStore {
  /** Committed objects, never-verified first, then the longest unverified. */
  objectsToVerify(limit: number): Promise<ObjectToVerify[]>;
  markVerified(objectKeys: readonly string[]): Promise<void>;
}

/** The archive bucket. */
export interface ArchiveStorage {
  readonly bucket: string;
  /** Uploads with a SHA-256 checksum and returns once the object is confirmed stored. */
  putObject(key: string, body: Buffer, sha256Base64: string): Promise<void>;
  /** The bytes [offset, offset+length) of an object (fewer if it is shorter), or null when it does not exist. */
  getRange(key: string, offset: number, length: number): Promise<Buffer | null>;
  deleteObject(key: string): Promise<void>;
}

/** Where an archived saga is, as the index records it. */
export interface IndexLocation {
  readonly sagaId: string;
  readonly objectKey: string;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly sha256: Buffer;
  /** PostgreSQL UTC text, like the archived rows' timestamps. */
  readonly archivedAt: string;
}

export type SagaSort = 'startedAt,desc' | 'startedAt,asc' | 'updatedAt,desc' | 'updatedAt,asc';

/** The filters of the hot search (SPEC §4); dates bound `started_at`, both inclusive. */
export interface ArchiveSearchFilters {
  readonly orderId?: string | undefined;
  readonly sagaType?: string | undefined;
  readonly status?: string | undefined;
  readonly fromDate?: Date | string | undefined;
  readonly toDate?: Date | string | undefined;
}

export interface ArchiveSearchPaging {
  readonly offset: number;
  readonly limit: number;
  readonly sort?: SagaSort | undefined;
  /** Leave out sagas that are hot again (a late event re-heated them): the hot search answers for those. Default true. */
  readonly excludeHot?: boolean | undefined;
}

/** The saga summary columns the index keeps (saga_instance's, same names). */
export type ArchivedSagaSummaryRow = Pick<
  ArchivedSagaRow,
  | 'saga_id'
  | 'saga_type'
  | 'order_id'
  | 'current_status'
  | 'last_step'
  | 'last_trace_id'
  | 'started_at'
  | 'updated_at'
  | 'created_at'
  | 'step_count'
  | 'last_recorded_at'
  | 'last_event_timestamp'
  | 'last_event_id'
  | 'failed_at'
  | 'compensated_at'
>;

export interface ArchiveSearchRow {
  readonly archived: true;
  readonly archivedAt: string;
  readonly saga: ArchivedSagaSummaryRow;
}

/** The reader's database side: the archive index. */
export interface ArchiveIndex {
  locate(sagaIds: readonly string[]): Promise<IndexLocation[]>;
  search(
    filters: ArchiveSearchFilters,
    paging: ArchiveSearchPaging,
  ): Promise<{ rows: ArchiveSearchRow[]; total: number }>;
}
