import { ARCHIVE_BUCKET, archivedSagaIds, ingestSagas, variedSeeds } from '../../test/support/archive';
import { lambdaContext } from '../../test/support/consume';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { type LocalS3, startLocalS3 } from '../../test/support/s3-server';

let db: TestDatabase;
let s3: LocalS3;
const saved = { ...process.env };

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([ARCHIVE_BUCKET]);
});
afterAll(async () => {
  process.env = saved;
  await s3.close();
  await db.drop();
});

describe('archive function entry point', () => {
  it('wires the handler from the environment: database, bucket, S3 endpoint and retention', async () => {
    // Sagas far past any retention, whatever today's date.
    await ingestSagas(db.pool, variedSeeds(6, { oldestDays: 900 }));
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      ARCHIVE_BUCKET,
      S3_ENDPOINT: s3.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      RETENTION_DAYS: '90',
      ARCHIVE_TYPE_RULES: '{"REFUND":{"statuses":["FAILED"]}}',
    });
    const { handler } = await import('./index');

    const response = await handler(
      {},
      { ...lambdaContext('saga-tracker-archive'), getRemainingTimeInMillis: () => 900_000 },
    );

    expect(response).toEqual(expect.objectContaining({ action: 'archive', archived: 4, remaining: 0 }));
    expect(await archivedSagaIds(db.pool)).toHaveLength(4);
  });
});
