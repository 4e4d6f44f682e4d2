import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { createRedriveHandler } from '../functions/dlq-redrive/handler';
import { consumeHandlerFor, lambdaContext } from '../test/support/consume';
import { createTestDatabase, type TestDatabase, truncateAll } from '../test/support/database';
import { type FakeRegistry, startFakeRegistry } from '../test/support/fake-registry';
import { encodeAvro, kafkaEvent, kafkaRecord, recordsFor } from '../test/support/kafka';
import { putOnFailureRecord } from '../test/support/on-failure';
import { emptyBucket, objectKeys, redriveDepsFor, registrySchemas } from '../test/support/redrive';
import { type LocalS3, startLocalS3 } from '../test/support/s3-server';
import { ORDER_CREATION_STEPS, sagaEvents } from '../test/support/sagas';
import { runRedriveCli } from './redrive-cli';

const BUCKET = 'saga-dlq-cli';
const FUNCTION = 'saga-tracker-dlq-redrive';

let db: TestDatabase;
let s3: LocalS3;
let registry: FakeRegistry;
let lambdaServer: Server;
let lambda: LambdaClient;
const invocations: Array<{ path: string; payload: unknown }> = [];

/** The Lambda Invoke API over real HTTP, running the real redrive handler. */
async function startFakeLambda(): Promise<string> {
  const handler = createRedriveHandler({
    logger: new Logger({ serviceName: 'redrive-cli-test', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'SagaTrackerTest', serviceName: 'redrive-cli-test' }),
    depsForRun: () => redriveDepsFor(db.pool, { schemas: registrySchemas(registry.url), s3, bucket: BUCKET }),
  });
  lambdaServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
      invocations.push({ path: request.url ?? '', payload });
      handler(payload, lambdaContext(FUNCTION)).then(
        (result) => {
          response.writeHead(200, {
            'content-type': 'application/json',
            'x-amz-executed-version': '$LATEST',
          });
          response.end(JSON.stringify(result));
        },
        (error: Error) => {
          response.writeHead(200, {
            'content-type': 'application/json',
            'x-amz-function-error': 'Unhandled',
          });
          response.end(JSON.stringify({ errorType: error.name, errorMessage: error.message }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => lambdaServer.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(lambdaServer.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  db = await createTestDatabase();
  s3 = await startLocalS3([BUCKET]);
  registry = await startFakeRegistry();
  lambda = new LambdaClient({
    endpoint: await startFakeLambda(),
    region: 'ap-northeast-2',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  lambda.destroy();
  await new Promise((resolve) => lambdaServer.close(resolve));
  await registry.close();
  await s3.close();
  await db.drop();
});
beforeEach(async () => {
  invocations.length = 0;
  await truncateAll(db.pool);
  await emptyBucket(s3.client, BUCKET);
});

async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runRedriveCli(argv, {
    env,
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    lambda,
  });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

const events = sagaEvents(ORDER_CREATION_STEPS, { sagaId: 'saga-cli' });

describe('npm run redrive', () => {
  it('invokes the deployed function with the options as its JSON payload and prints the report', async () => {
    await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(events)));

    const run = await cli(['--source', 's3', '--dry-run', '--limit', '5'], {
      REDRIVE_FUNCTION_NAME: FUNCTION,
    });

    expect(run.status).toBe(0);
    expect(invocations).toEqual([
      {
        path: `/2015-03-31/functions/${FUNCTION}/invocations`,
        payload: { source: 's3', dryRun: true, limit: 5 },
      },
    ]);
    expect(JSON.parse(run.out)).toEqual(
      expect.objectContaining({ dryRun: true, requested: 7, successful: 7 }),
    );
    expect(run.err).toContain('dry run: requested 7, successful 7, failed 0, skipped 0');
  });

  it("shows the function's own error for a bad option", async () => {
    const run = await cli(['--function-name', FUNCTION, '--since', 'last tuesday']);

    expect(run.status).toBe(1);
    expect(run.err).toContain('BadRequestError: invalid redrive options: since');
  });

  it('runs the same redrive locally against DATABASE_URL and the local S3 endpoint', async () => {
    await consumeHandlerFor(db.pool)(
      kafkaEvent([kafkaRecord(encodeAvro({ ...events[0], metadata: '1' } as never), { offset: 9 })]),
    );
    const key = await putOnFailureRecord(s3.client, BUCKET, kafkaEvent(recordsFor(events.slice(1))));

    const run = await cli(['--local'], {
      DATABASE_URL: db.url,
      DLQ_BUCKET: BUCKET,
      S3_ENDPOINT: s3.endpoint,
      SCHEMA_REGISTRY_URL: registry.url,
    });

    expect(run.status).toBe(1);
    const report = JSON.parse(run.out);
    expect(report).toEqual(expect.objectContaining({ requested: 7, successful: 6, failed: 1 }));
    expect(report.results[0]).toEqual(
      expect.objectContaining({ source: 'table', reason: 'VALIDATION_FAILED' }),
    );
    expect(invocations).toEqual([]);
    expect(await objectKeys(s3.client, BUCKET)).toEqual([`redriven/${key}`]);
  });

  it('explains its usage on a bad flag or a missing function name', async () => {
    const unknown = await cli(['--everything']);
    expect(unknown.status).toBe(2);
    expect(unknown.err).toContain("Unknown option '--everything'");
    expect(unknown.err).toContain('Usage: npm run redrive');

    const nameless = await cli([]);
    expect(nameless.status).toBe(2);
    expect(nameless.err).toContain('--function-name');

    expect((await cli(['--limit', 'ten'])).err).toContain('--limit');
    expect((await cli(['--help'])).out).toContain('--dry-run');
  });
});
