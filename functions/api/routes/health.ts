import { ServiceUnavailableError } from '../../../lib/errors';
import { defineRoute } from '../router';
import { errorSchema, healthSchema } from '../schemas';

export const healthRoute = defineRoute({
  method: 'GET',
  path: '/api/v1/health',
  operationId: 'getHealth',
  summary: 'Liveness with a database round trip',
  tags: ['operations'],
  responses: {
    200: { description: 'The API and its database answer.', schema: healthSchema },
    503: { description: 'The database does not answer.', schema: errorSchema },
  },
  handle: async (_request, deps) => {
    try {
      await deps.store.ping();
    } catch (error) {
      // Whatever the database's problem (down, refusing credentials), the service is not healthy.
      throw new ServiceUnavailableError('the database is unavailable', { cause: error });
    }
    return { body: { status: 'UP', database: 'UP', checkedAt: deps.now().toISOString() } };
  },
});
