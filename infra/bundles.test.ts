import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withClient } from '../lib/adapters/pg/client';
import { databaseUrl } from '../test/support/database-url';
import { encodeAvro, kafkaEvent, kafkaRecord } from '../test/support/kafka';
import { BUNDLE_BUDGET_BYTES, cdkSynth, type FunctionBundle, functionBundles } from './bundles';
import { PROJECT_ROOT } from './service-function';

const run = promisify(execFile);

/** Invokes a bundled handler in a fresh Node process, as the Lambda runtime would load it. */
async function invokeBundle(
  bundle: FunctionBundle,
  event: unknown,
  environment: Record<string, string>,
): Promise<unknown> {
  const eventFile = join(bundle.dir, '..', `event-${bundle.name}.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const script = `
    const { handler } = require(${JSON.stringify(join(bundle.dir, 'index.js'))});
    const event = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(eventFile)}, 'utf8'));
    const context = { functionName: 'saga-tracker-${bundle.name}', awsRequestId: 'bundle-test',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:saga-tracker-${bundle.name}',
      memoryLimitInMB: '512', functionVersion: '$LATEST', getRemainingTimeInMillis: () => 60000 };
    handler(event, context).then(
      (result) => { process.stdout.write(JSON.stringify(result)); process.exit(0); },
      (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    // Nothing from this machine's environment leaks in: only what the stack sets, plus the test database.
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'eu-west-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...environment,
    },
    cwd: bundle.dir,
  });
  return JSON.parse(stdout);
}

describe('function bundles built by npx cdk synth', () => {
  let outdir: string;
  let synthOutput: string;
  let bundles: FunctionBundle[];
  const database = `saga_bundle_${randomBytes(4).toString('hex')}`;
  const appRole = `saga_bundle_app_${randomBytes(4).toString('hex')}`;
  const server = () => process.env.SAGA_TRACKER_TEST_SERVER_URL ?? '';

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'saga-tracker-cdk-out-'));
    const synth = await cdkSynth(outdir);
    synthOutput = synth.output;
    if (synth.code !== 0) throw new Error(`npx cdk synth failed:\n${synth.output}`);
    bundles = functionBundles(outdir, 'SagaTracker-dev');
    await withClient(server(), (client) => client.query(`CREATE DATABASE ${database}`));
  }, 300_000);

  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
    await withClient(server(), async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS ${appRole}`);
    });
  });

  it('synthesizes the defaults offline and says the cluster ARN is a placeholder', () => {
    expect(synthOutput).toContain('msk.clusterArn is the placeholder of cdk.json');
    expect(bundles.map((bundle) => bundle.name)).toEqual([
      'consume',
      'api',
      'archive',
      'dlq-redrive',
      'state-gauges',
      'migrate',
    ]);
  });

  it('keeps every index.js within the size budget, with its source map beside it', () => {
    for (const bundle of bundles) {
      expect({ name: bundle.name, fits: bundle.indexBytes <= BUNDLE_BUDGET_BYTES }).toEqual({
        name: bundle.name,
        fits: true,
      });
      expect(bundle.sourceMapBytes).toBeGreaterThan(0);
    }
  });

  it('copies the Avro schemas beside every handler and the migrations beside the migrate handler', () => {
    for (const bundle of bundles) expect(existsSync(join(bundle.dir, 'SagaTracker.avsc'))).toBe(true);
    const migrate = bundles.find((bundle) => bundle.name === 'migrate');
    const shipped = readdirSync(join(migrate?.dir ?? '', 'migrations')).sort();
    const source = readdirSync(join(PROJECT_ROOT, 'migrations'))
      .filter((file) => file.endsWith('.sql'))
      .sort();
    expect(shipped).toEqual(source);
  });

  it('migrates an empty database from the bundled migrate handler and its copied migrations', async () => {
    const migrate = bundles.find((bundle) => bundle.name === 'migrate') as FunctionBundle;

    const result = await invokeBundle(
      migrate,
      {},
      {
        DATABASE_URL: databaseUrl(server(), database),
        APP_DB_USER: appRole,
        // What the stack sets is /var/task/migrations: the bundle folder Lambda unpacks.
        MIGRATIONS_DIR: join(migrate.dir, 'migrations'),
      },
    );

    expect(result).toEqual({
      applied: readdirSync(join(migrate.dir, 'migrations'))
        .map((file) => file.replace(/\.sql$/, ''))
        .sort(),
      appUser: appRole,
      appUserCreated: true,
    });
  });

  it('ingests an Avro record with the bundled consume handler reading the schema beside it', async () => {
    const consume = bundles.find((bundle) => bundle.name === 'consume') as FunctionBundle;
    const value = encodeAvro({
      eventId: 'bundle-event-1',
      eventTimestamp: 1_764_064_800_000,
      sagaId: 'bundle-saga-1',
      sagaType: 'ORDER_CREATION',
      step: 'ORDER_CREATED',
      status: 'STARTED',
      orderId: 'order-1',
      metadata: '{"traceId":"trace-bundle"}',
      recordedAt: 1_764_064_800_000,
    });

    const result = await invokeBundle(
      consume,
      kafkaEvent([kafkaRecord(value, { offset: 1, key: 'bundle-saga-1' })]),
      {
        DATABASE_URL: databaseUrl(server(), database),
        SCHEMA_REGISTRY_STATIC_SCHEMAS: '{"1":"SagaTracker.avsc"}',
      },
    );

    expect(result).toEqual(expect.objectContaining({ received: 1, inserted: 1, deadLettered: 0 }));
    const steps = await withClient(databaseUrl(server(), database), (client) =>
      client.query('SELECT saga_id, step, trace_id FROM saga_steps'),
    );
    expect(steps.rows).toEqual([
      { saga_id: 'bundle-saga-1', step: 'ORDER_CREATED', trace_id: 'trace-bundle' },
    ]);
  });
});
