import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { localLambdaContext, toApiGatewayEvent } from '../../local/api-gateway';
import { OPERATOR } from '../../test/support/api';
import {
  ARCHIVE_BUCKET,
  archiveHarness,
  hotSagaIds,
  ingestSagas,
  variedSeeds,
} from '../../test/support/archive';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';

type Handler = typeof import('./index')['handler'];

let db: TestDatabase;
let s3: LocalS3;
const saved = { ...process.env };

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([ARCHIVE_BUCKET]);
});
afterEach(() => {
  process.env = { ...saved };
});
afterAll(async () => {
  await s3.close();
  await db.drop();
});

/** The environment the CDK app gives the function, pointed at the test database and the local S3. */
function deployedEnvironment(): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    ARCHIVE_BUCKET,
    S3_ENDPOINT: s3.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    SCHEMA_REGISTRY_STATIC_SCHEMAS: '{"1":"SagaTracker.avsc"}',
    MAX_CLOCK_SKEW_SECONDS: '86400',
  };
}

/** Loads functions/api/index.ts afresh (a cold start) with this environment. */
async function coldStart(env: Record<string, string | undefined>): Promise<Handler> {
  process.env = { ...saved, ...env };
  let loaded: Handler | undefined;
  await jest.isolateModulesAsync(async () => {
    loaded = (await import('./index')).handler;
  });
  if (!loaded) throw new Error('not loaded');
  return loaded;
}

async function get(handler: Handler, url: string) {
  const result = (await handler(
    toApiGatewayEvent({ method: 'GET', url, iam: OPERATOR }),
    localLambdaContext('saga-tracker-api'),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') };
}

describe('api function entry point', () => {
  it('wires the archive, the search over it and the dead-letter routes from the environment', async () => {
    await ingestSagas(db.pool, variedSeeds(4, { prefix: 'entry', oldestDays: 900 }));
    await archiveHarness(db.pool, s3).run();
    expect(await hotSagaIds(db.pool)).toEqual([]);

    const handler = await coldStart(deployedEnvironment());

    const saga = await get(handler, '/api/v1/sagas/entry-00001');
    expect(saga.status).toBe(200);
    expect(saga.body).toEqual(expect.objectContaining({ sagaId: 'entry-00001', archived: true }));
    const search = await get(handler, '/api/v1/sagas?includeArchived=true');
    expect(search.body.page.totalElements).toBe(4);
    expect((await get(handler, '/internal/v1/dead-letters')).status).toBe(200);
  });

  it('has no archive without ARCHIVE_BUCKET: archived sagas are unknown and includeArchived is refused', async () => {
    const { ARCHIVE_BUCKET: _none, ...withoutArchive } = deployedEnvironment();

    const handler = await coldStart(withoutArchive);

    expect((await get(handler, '/api/v1/sagas/entry-00001')).status).toBe(404);
    const search = await get(handler, '/api/v1/sagas?includeArchived=true');
    expect(search.status).toBe(400);
    expect(search.body.details.parameter).toBe('includeArchived');
  });

  it.each([
    ['a bucket name S3 would refuse', { ARCHIVE_BUCKET: 'Not_A_Bucket' }, /ARCHIVE_BUCKET/],
    ['a read timeout that is not a number', { ARCHIVE_READ_TIMEOUT_MS: 'soon' }, /ARCHIVE_READ_TIMEOUT_MS/],
    ['an S3 endpoint that is not a URL', { S3_ENDPOINT: 'localhost' }, /S3_ENDPOINT/],
    ['a clock skew that is not a number', { MAX_CLOCK_SKEW_SECONDS: 'a day' }, /MAX_CLOCK_SKEW_SECONDS/],
    [
      'no schema source for replays',
      { SCHEMA_REGISTRY_STATIC_SCHEMAS: undefined, SCHEMA_REGISTRY_URL: undefined },
      /SCHEMA_REGISTRY_URL or SCHEMA_REGISTRY_STATIC_SCHEMAS/,
    ],
    ['a registry URL that is not one', { SCHEMA_REGISTRY_URL: 'registry:8081' }, /SCHEMA_REGISTRY_URL/],
  ])('fails its cold start on %s, naming the variable', async (_case, change, message) => {
    await expect(coldStart({ ...deployedEnvironment(), ...change })).rejects.toThrow(message);
  });
});
