import openApiDocument from '../openapi.json';
import { defineRoute } from '../router';
import { openApiDocumentSchema } from '../schemas';

/** Serves the committed document (generated from the route table by `npm run openapi`). */
export const openApiRoute = defineRoute({
  method: 'GET',
  path: '/api/v1/openapi.json',
  operationId: 'getOpenApiDocument',
  summary: 'This OpenAPI 3.1 document',
  tags: ['operations'],
  responses: { 200: { description: 'The OpenAPI document.', schema: openApiDocumentSchema } },
  handle: async () => ({ body: openApiDocument }),
});
