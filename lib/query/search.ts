import { BadRequestError } from '../errors';
import { decodeCursor, encodeCursor, filtersFingerprint } from './cursor';
import type { SearchFilters, SearchQuery, Sort } from './search-criteria';
import { archiveUnsearchableFilter, DEFAULT_SORT, formatSort, parseSort } from './search-criteria';
import type { SagaResponse } from './serialize';
import { toSagaResponse } from './serialize';
import type { SagaQueryStore } from './store';

/** What a caller asked for, validated field by field but not yet combined. */
export interface SearchRequest {
  readonly filters: SearchFilters;
  readonly sort?: Sort;
  readonly page?: number;
  readonly size: number;
  readonly cursor?: string;
}

/**
 * Offset paging is the seed's contract; past this many rows a page costs a
 * scan of all rows before it, so deeper reads use the cursor.
 */
export const MAX_OFFSET = 100_000;

/** Combines paging, sort and cursor into one query; contradictions are 400s naming the parameter. */
export function buildSearchQuery(request: SearchRequest): SearchQuery {
  if (request.filters.includeArchived) {
    const parameter = archiveUnsearchableFilter(request.filters);
    if (parameter) {
      throw new BadRequestError(
        `${parameter}: cannot be combined with includeArchived=true (archived sagas are searchable by orderId, sagaType, status, fromDate, toDate and stuckForSeconds; their steps are in cold storage)`,
        { parameter },
      );
    }
  }
  const fingerprint = filtersFingerprint(request.filters);
  if (request.cursor !== undefined) {
    if (request.page !== undefined) {
      throw new BadRequestError('page: cannot be combined with cursor (use one paging style)', {
        parameter: 'page',
      });
    }
    const cursor = decodeCursor(request.cursor);
    if (request.sort && formatSort(request.sort) !== formatSort(cursor.sort)) {
      throw new BadRequestError(
        `cursor: belongs to a search sorted by ${formatSort(cursor.sort)}, not ${formatSort(request.sort)}`,
        { parameter: 'cursor' },
      );
    }
    if (cursor.filtersFingerprint !== fingerprint) {
      throw new BadRequestError('cursor: belongs to a search with other filters; repeat the same filters', {
        parameter: 'cursor',
      });
    }
    return {
      filters: request.filters,
      sort: cursor.sort,
      paging: { kind: 'keyset', after: cursor.after, size: request.size },
    };
  }
  const page = request.page ?? 0;
  if (page * request.size > MAX_OFFSET) {
    throw new BadRequestError(
      `page: offset paging reaches the first ${MAX_OFFSET} results only; follow nextCursor to go deeper`,
      { parameter: 'page' },
    );
  }
  return {
    filters: request.filters,
    sort: request.sort ?? parseSort(DEFAULT_SORT),
    paging: { kind: 'offset', page, size: request.size },
  };
}

export interface SearchPage {
  /** Zero-based page number; null when paging by cursor. */
  number: number | null;
  size: number;
  /** Null when paging by cursor: counting would cost what the cursor saves. */
  totalElements: number | null;
  totalPages: number | null;
}

export interface SearchResult {
  content: SagaResponse[];
  page: SearchPage;
  /** Pass as `cursor` (with the same filters) for the next page; null on the last page. */
  nextCursor: string | null;
}

export async function searchSagas(
  store: SagaQueryStore,
  query: SearchQuery,
  now: Date,
): Promise<SearchResult> {
  const { size } = query.paging;
  // One row more than the page tells whether there is a next page without counting.
  const rows = await store.search(query, size + 1, now);
  const hasMore = rows.length > size;
  const pageRows = hasMore ? rows.slice(0, size) : rows;
  const last = pageRows[pageRows.length - 1];
  const nextCursor =
    hasMore && last
      ? encodeCursor({
          sort: query.sort,
          after: { micros: BigInt(last.sort_key), sagaId: last.saga_id },
          filtersFingerprint: filtersFingerprint(query.filters),
        })
      : null;
  const content = pageRows.map(toSagaResponse);

  if (query.paging.kind === 'keyset') {
    return { content, page: { number: null, size, totalElements: null, totalPages: null }, nextCursor };
  }
  const { page } = query.paging;
  // The last page (when it is not past the end) already tells the total.
  const totalElements =
    !hasMore && (page === 0 || pageRows.length > 0)
      ? page * size + pageRows.length
      : await store.count(query.filters, now);
  return {
    content,
    page: { number: page, size, totalElements, totalPages: Math.ceil(totalElements / size) },
    nextCursor,
  };
}
