import { sagaStatistics, statisticsScope } from '../../../lib/query/statistics';
import { defineRoute } from '../router';
import { errorSchema, statisticsQuerySchema, statisticsSchema } from '../schemas';

export const statisticsRoute = defineRoute({
  method: 'GET',
  path: '/api/v1/sagas/statistics',
  operationId: 'getSagaStatistics',
  summary: 'Counts, rates and durations of the sagas started in a period',
  description:
    'Sagas whose startedAt is in [fromDate, toDate): counts by status, by type and by both, the share that failed ' +
    'and that was compensated, and the duration (first step to terminal status) mean and p50/p95/p99.',
  tags: ['sagas'],
  query: statisticsQuerySchema,
  responses: {
    200: { description: 'The statistics.', schema: statisticsSchema },
    400: { description: 'A parameter is invalid (the message names it).', schema: errorSchema },
    503: { description: 'The database is unavailable; retry later.', schema: errorSchema },
  },
  handle: async ({ query }, deps) => {
    const scope = statisticsScope(
      {
        ...(query.fromDate === undefined ? {} : { from: query.fromDate }),
        ...(query.toDate === undefined ? {} : { to: query.toDate }),
        ...(query.sagaType === undefined ? {} : { sagaType: query.sagaType }),
      },
      deps.now(),
    );
    return { body: await sagaStatistics(deps.store, scope) };
  },
});
