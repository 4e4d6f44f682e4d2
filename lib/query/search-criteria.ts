import type { SagaStatus } from '../domain/saga-event';

export const SORT_FIELDS = ['startedAt', 'updatedAt'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export type SortDirection = 'asc' | 'desc';

export interface Sort {
  readonly field: SortField;
  readonly direction: SortDirection;
}

export const SORT_VALUES = ['startedAt,desc', 'startedAt,asc', 'updatedAt,desc', 'updatedAt,asc'] as const;
export type SortValue = (typeof SORT_VALUES)[number];
export const DEFAULT_SORT: SortValue = 'startedAt,desc';

export function parseSort(value: SortValue): Sort {
  const [field, direction] = value.split(',') as [SortField, SortDirection];
  return { field, direction };
}

export function formatSort(sort: Sort): SortValue {
  return `${sort.field},${sort.direction}` as SortValue;
}

/** One `meta.<key>=<value>` filter: some step's metadata holds `key` with one of `values`. */
export interface MetadataFilter {
  readonly key: string;
  /** The value as text, and as the JSON number/boolean it spells when it spells one. */
  readonly values: ReadonlyArray<string | number | boolean | null>;
}

/** What a search selects, all conditions together (AND). */
export interface SearchFilters {
  readonly orderId?: string;
  readonly sagaType?: string;
  readonly status?: SagaStatus;
  /** startedAt >= from */
  readonly from?: Date;
  /** startedAt < to */
  readonly to?: Date;
  /** Some step carries this trace id. */
  readonly traceId?: string;
  /** Some step has this name. */
  readonly step?: string;
  readonly metadata?: readonly MetadataFilter[];
  /** Not in a terminal status, and the last event is older than this many seconds. */
  readonly stuckForSeconds?: number;
  /** Archived sagas (cold storage, through the archive index) match too. */
  readonly includeArchived?: boolean;
}

/**
 * The first filter (as the request names it) that archived sagas cannot be
 * matched by: the archive index holds each saga's summary row, while its
 * steps — their trace ids, names and metadata — are in S3.
 */
export function archiveUnsearchableFilter(filters: SearchFilters): string | undefined {
  if (filters.traceId !== undefined) return 'traceId';
  if (filters.step !== undefined) return 'step';
  const [metadata] = filters.metadata ?? [];
  if (metadata) return `meta.${metadata.key}`;
  return undefined;
}

/** Where a keyset page starts: strictly after this row in the sort order. */
export interface KeysetPosition {
  /** The sort column's value in microseconds since the epoch (timestamptz precision). */
  readonly micros: bigint;
  readonly sagaId: string;
}

export type Paging =
  | { readonly kind: 'offset'; readonly page: number; readonly size: number }
  | { readonly kind: 'keyset'; readonly after: KeysetPosition; readonly size: number };

export interface SearchQuery {
  readonly filters: SearchFilters;
  readonly sort: Sort;
  readonly paging: Paging;
}

/**
 * The metadata value as a producer may have written it: `meta.itemCount=2`
 * matches `"itemCount": 2` as well as `"itemCount": "2"`.
 */
export function metadataValues(text: string): MetadataFilter['values'] {
  if (text === 'true') return [text, true];
  if (text === 'false') return [text, false];
  if (text === 'null') return [text, null];
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text)) {
    const number = Number(text);
    if (Number.isFinite(number)) return [text, number];
  }
  return [text];
}
