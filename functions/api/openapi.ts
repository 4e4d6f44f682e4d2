import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import type { ApiRoute } from './router';
import { API_ROUTES } from './routes';
import { errorSchema } from './schemas';

export const OPENAPI_FILE = 'functions/api/openapi.json';

/** Any operation can fail unexpectedly; the body then carries the request id only. */
const INTERNAL_ERROR = {
  description: 'Internal error; details hold the request id only.',
  schema: errorSchema,
};

type ObjectSchema = z.ZodObject<z.ZodRawShape>;

function jsonContent(schema: z.ZodType) {
  return { 'application/json': { schema } };
}

function routeConfig(route: ApiRoute): RouteConfig {
  const request: NonNullable<RouteConfig['request']> = {};
  if (route.params) request.params = route.params as ObjectSchema;
  if (route.query) request.query = route.query as ObjectSchema;
  if (route.body) request.body = { required: true, content: jsonContent(route.body) };
  return {
    method: route.method.toLowerCase() as RouteConfig['method'],
    path: route.path,
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [...route.tags],
    ...(route.auth === 'iam' ? { security: [{ sigv4: [] }] } : {}),
    request,
    responses: Object.fromEntries(
      Object.entries({ ...route.responses, 500: route.responses[500] ?? INTERNAL_ERROR }).map(
        ([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema ? { content: jsonContent(response.schema) } : {}),
          },
        ],
      ),
    ),
  };
}

/** The OpenAPI 3.1 document of the API, generated from the route table's zod schemas. */
export function buildOpenApiDocument(routes: readonly ApiRoute[] = API_ROUTES) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'sigv4', {
    type: 'apiKey',
    name: 'Authorization',
    in: 'header',
    description: 'AWS Signature Version 4 (API Gateway IAM authorization).',
  });
  for (const route of routes) registry.registerPath(routeConfig(route));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Saga Tracker API',
      version: '1.0.0',
      description:
        'Query and admin API of the Saga Tracker: every step of every saga of the e-commerce platform. ' +
        'Errors share one body: {error, message, timestamp, path, details}.',
    },
    tags: [
      { name: 'sagas', description: 'Sagas, their timelines, search and statistics.' },
      { name: 'admin', description: 'Operator actions (IAM-authenticated).' },
      { name: 'operations', description: 'Health and this document.' },
    ],
  });
}

/** The document as committed: stable key order, two-space indent, final newline. */
export function renderOpenApiDocument(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}
