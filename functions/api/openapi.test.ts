import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClientFor } from '../../test/support/api';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { buildOpenApiDocument, OPENAPI_FILE, renderOpenApiDocument } from './openapi';
import { API_ROUTES } from './routes';

const committed = readFileSync(join(__dirname, '..', '..', OPENAPI_FILE), 'utf8');

describe('OpenAPI document', () => {
  it('is committed exactly as generated from the route table (run `npm run openapi` after changing the API)', () => {
    expect(committed).toBe(renderOpenApiDocument());
  });

  it('documents every route of the table with its operation, parameters and responses', () => {
    const document = buildOpenApiDocument();
    expect(document.openapi).toBe('3.1.0');
    for (const route of API_ROUTES) {
      const operation = document.paths?.[route.path]?.[route.method.toLowerCase() as 'get'];
      expect(operation?.operationId).toBe(route.operationId);
      for (const status of Object.keys(route.responses)) expect(operation?.responses?.[status]).toBeDefined();
      expect(operation?.responses?.['500']).toBeDefined();
    }
    const search = document.paths?.['/api/v1/sagas']?.get;
    const names = (search?.parameters ?? []).map((parameter) => ('name' in parameter ? parameter.name : ''));
    expect(names).toEqual(
      expect.arrayContaining(['status', 'sort', 'cursor', 'page', 'size', 'stuckForSeconds']),
    );
    expect(document.paths?.['/internal/v1/sagas/{sagaId}/status']?.patch?.security).toEqual([{ sigv4: [] }]);
  });
});

describe('GET /api/v1/openapi.json', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('serves the committed document', async () => {
    const answer = await apiClientFor(db.pool)('GET', '/api/v1/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(JSON.parse(committed));
  });
});
