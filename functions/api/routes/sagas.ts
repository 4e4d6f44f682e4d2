import type { z } from 'zod';
import { BadRequestError } from '../../../lib/errors';
import { buildSearchQuery, searchSagas } from '../../../lib/query/search';
import type { MetadataFilter, SearchFilters } from '../../../lib/query/search-criteria';
import { metadataValues, parseSort } from '../../../lib/query/search-criteria';
import { getSaga, getSagaSteps } from '../../../lib/query/timeline';
import { defineRoute } from '../router';
import {
  errorSchema,
  MAX_METADATA_FILTERS,
  METADATA_PARAM_PREFIX,
  metadataKeySchema,
  metadataValueSchema,
  sagaIdParams,
  sagaSchema,
  sagaStepsSchema,
  searchQuerySchema,
  searchResultSchema,
} from '../schemas';

const badRequest = { description: 'A parameter is invalid (the message names it).', schema: errorSchema };
const notFound = { description: 'No saga with this id.', schema: errorSchema };
const unavailable = {
  description: 'The database (or, for an archived saga, the archive storage) is unavailable; retry later.',
  schema: errorSchema,
};
const damaged = {
  description:
    'Internal error; details hold the request id only. Among them: the archived copy of the saga failed its ' +
    'integrity check (checksum, length or content), and the message says so: damaged data is never served.',
  schema: errorSchema,
};

export const getSagaRoute = defineRoute({
  method: 'GET',
  path: '/api/v1/sagas/{sagaId}',
  operationId: 'getSaga',
  summary: 'A saga and its current state',
  description:
    'Hot sagas from PostgreSQL; archived ones from cold storage (S3) through the archive index, exactly as they ' +
    'were answered before archiving, with archived: true and archivedAt.',
  tags: ['sagas'],
  params: sagaIdParams,
  responses: {
    200: { description: 'The saga.', schema: sagaSchema },
    400: badRequest,
    404: notFound,
    500: damaged,
    503: unavailable,
  },
  handle: async ({ params }, deps) => ({ body: await getSaga(deps.sagas, params.sagaId) }),
});

export const getSagaStepsRoute = defineRoute({
  method: 'GET',
  path: '/api/v1/sagas/{sagaId}/steps',
  operationId: 'getSagaSteps',
  summary: "A saga's timeline: its steps in event-time order and any operator status overrides",
  description:
    'Archived sagas are read from cold storage like GET /api/v1/sagas/{sagaId}. A saga that a late event brought ' +
    'back from the archive lists its archived and its new steps together, in event-time order.',
  tags: ['sagas'],
  params: sagaIdParams,
  responses: {
    200: { description: 'The timeline.', schema: sagaStepsSchema },
    400: badRequest,
    404: notFound,
    500: damaged,
    503: unavailable,
  },
  handle: async ({ params }, deps) => ({ body: await getSagaSteps(deps.sagas, params.sagaId) }),
});

function metadataFilters(extra: Readonly<Record<string, string>>): MetadataFilter[] {
  const entries = Object.entries(extra);
  if (entries.length > MAX_METADATA_FILTERS) {
    throw new BadRequestError(`meta.*: at most ${MAX_METADATA_FILTERS} metadata filters`, {
      parameter: 'meta.*',
    });
  }
  return entries.map(([key, value]) => {
    const parameter = `${METADATA_PARAM_PREFIX}${key}`;
    const keyCheck = metadataKeySchema.safeParse(key);
    if (!keyCheck.success) {
      throw new BadRequestError(`${parameter}: the key ${keyCheck.error.issues[0]?.message}`, { parameter });
    }
    const valueCheck = metadataValueSchema.safeParse(value);
    if (!valueCheck.success) {
      throw new BadRequestError(`${parameter}: ${valueCheck.error.issues[0]?.message}`, { parameter });
    }
    return { key, values: metadataValues(value) };
  });
}

function searchFilters(
  query: z.output<typeof searchQuerySchema>,
  extra: Readonly<Record<string, string>>,
): SearchFilters {
  if (query.sagaType !== undefined && query.type !== undefined && query.sagaType !== query.type) {
    throw new BadRequestError('type: conflicts with sagaType (type is its short form; give one)', {
      parameter: 'type',
    });
  }
  if (query.fromDate && query.toDate && query.fromDate.getTime() >= query.toDate.getTime()) {
    throw new BadRequestError('fromDate: must be before toDate', { parameter: 'fromDate' });
  }
  const metadata = metadataFilters(extra);
  const sagaType = query.sagaType ?? query.type;
  const filters: { -readonly [K in keyof SearchFilters]: SearchFilters[K] } = {};
  if (query.orderId !== undefined) filters.orderId = query.orderId;
  if (sagaType !== undefined) filters.sagaType = sagaType;
  if (query.status !== undefined) filters.status = query.status;
  if (query.fromDate !== undefined) filters.from = query.fromDate;
  if (query.toDate !== undefined) filters.to = query.toDate;
  if (query.traceId !== undefined) filters.traceId = query.traceId;
  if (query.step !== undefined) filters.step = query.step;
  if (metadata.length > 0) filters.metadata = metadata;
  if (query.stuckForSeconds !== undefined) filters.stuckForSeconds = query.stuckForSeconds;
  if (query.includeArchived) filters.includeArchived = true;
  return filters;
}

export const searchSagasRoute = defineRoute({
  method: 'GET',
  path: '/api/v1/sagas',
  operationId: 'searchSagas',
  summary: 'Search sagas',
  description: [
    'All filters combine (AND). `meta.<key>=<value>` (up to 5) selects sagas with a step whose metadata holds',
    'that key with that value (a number or boolean value also matches its JSON form), e.g. `meta.customerId=c-7`.',
    'Paging: `page`/`size` (offset, with totalElements) or `cursor` (keyset: pass the previous nextCursor with the',
    'same filters; constant speed at any depth, no totals). Every response carries nextCursor.',
    '`includeArchived=true` adds the archived sagas (cold storage) that match, in the same order and paging;',
    'each saga says whether it is `archived`.',
  ].join(' '),
  tags: ['sagas'],
  query: searchQuerySchema,
  extraQueryPrefix: METADATA_PARAM_PREFIX,
  responses: {
    200: { description: 'A page of sagas.', schema: searchResultSchema },
    400: badRequest,
    503: unavailable,
  },
  handle: async ({ query, extraQuery }, deps) => {
    if (query.includeArchived && !deps.archiveEnabled) {
      throw new BadRequestError(
        'includeArchived: this API has no archive configured (ARCHIVE_BUCKET is not set); search the hot sagas without it',
        { parameter: 'includeArchived' },
      );
    }
    const searchQuery = buildSearchQuery({
      filters: searchFilters(query, extraQuery),
      size: query.size,
      ...(query.sort === undefined ? {} : { sort: parseSort(query.sort) }),
      ...(query.page === undefined ? {} : { page: query.page }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return { body: await searchSagas(deps.store, searchQuery, deps.now()) };
  },
});
