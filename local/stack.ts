import type { createServer as createHttpServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type pg from 'pg';
import { createApiHandler } from '../functions/api/handler';
import { wireApi } from '../functions/api/wiring';
import { createConsumeHandler } from '../functions/consume/handler';
import { withClient } from '../lib/adapters/pg/client';
import { PgIngestStore } from '../lib/adapters/pg/ingest-store';
import { migrate } from '../lib/adapters/pg/migrate';
import { createPool } from '../lib/adapters/pg/pool';
import { StaticWriterSchemas } from '../lib/adapters/schema-registry';
import { sagaTrackerSchema } from '../schemas';
import { SAGA_TRACKER_SCHEMA_ID } from '../test/support/kafka';
import { apiGatewayListener, localLambdaContext } from './api-gateway';
import { DemoTraffic } from './demo-traffic';
import type { LocalPostgres } from './postgres';
import { startLocalPostgres } from './postgres';

export interface StackOptions {
  readonly port: number;
  readonly host: string;
  readonly demo: boolean;
  readonly demoRate: number;
  readonly history: number;
  readonly dataDir: string;
  readonly quiet: boolean;
  /** Use this server instead of the embedded one. */
  readonly databaseUrl: string | undefined;
  /** The IAM ARN reported as the caller of every request (API Gateway's SigV4 check, simulated). */
  readonly principal: string;
  readonly log: (line: string) => void;
  readonly createServer: typeof createHttpServer;
}

export interface RunningStack {
  readonly url: string;
  stop(): Promise<void>;
}

const LOCAL_DATABASE = 'saga_tracker';

/** The embedded server's own database for the stack, created on first use. */
async function embeddedDatabase(options: StackOptions): Promise<{ url: string; postgres: LocalPostgres }> {
  options.log(`starting PostgreSQL 15 (data in ${options.dataDir})…`);
  const postgres = await startLocalPostgres({ dataDir: options.dataDir });
  try {
    await withClient(postgres.url, async (client) => {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [LOCAL_DATABASE]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${LOCAL_DATABASE}`);
    });
  } catch (error) {
    await postgres.stop();
    throw error;
  }
  const url = new URL(postgres.url);
  url.pathname = `/${LOCAL_DATABASE}`;
  return { url: url.toString(), postgres };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE' ? new Error(`port ${port} is in use: pass --port <another port>`) : error,
      );
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function banner(url: string, sample: string | undefined): string {
  const saga = sample ?? '<sagaId>';
  return [
    '',
    `Saga Tracker is running: ${url}`,
    '',
    '  Try:',
    `    ${url}/api/v1/health`,
    `    ${url}/api/v1/sagas`,
    `    ${url}/api/v1/sagas?status=FAILED&sort=updatedAt,desc`,
    `    ${url}/api/v1/sagas?stuckForSeconds=60`,
    `    ${url}/api/v1/sagas?meta.paymentMethod=CARD&size=5`,
    `    ${url}/api/v1/sagas/statistics`,
    `    ${url}/api/v1/sagas/${saga}`,
    `    ${url}/api/v1/sagas/${saga}/steps`,
    `    ${url}/api/v1/openapi.json`,
    `    curl -X PATCH ${url}/internal/v1/sagas/${saga}/status \\`,
    `      -H 'content-type: application/json' -d '{"status":"FAILED","reason":"checked by hand"}'`,
    `    ${url}/internal/v1/dead-letters`,
    `    curl -X POST ${url}/internal/v1/sagas/replay \\`,
    `      -H 'content-type: application/json' -d '{"eventIds":["<eventId>"],"dryRun":true}'`,
    '',
    '  Ctrl-C stops it (the database keeps its data for next time).',
    '',
  ].join('\n');
}

async function sampleSagaId(pool: pg.Pool): Promise<string | undefined> {
  const { rows } = await pool.query<{ saga_id: string }>(
    'SELECT saga_id FROM saga_instance ORDER BY updated_at DESC LIMIT 1',
  );
  return rows[0]?.saga_id;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const embedded = await embeddedDatabase(options);
      cleanups.push(() => embedded.postgres.stop());
      databaseUrl = embedded.url;
    }
    const applied = await migrate({ databaseUrl });
    if (applied.length > 0) options.log(`migrations applied: ${applied.join(', ')}`);

    const logger = new Logger({ serviceName: 'saga-tracker-local' });
    const pool = createPool(
      { kind: 'url', url: databaseUrl, poolMax: 5, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000 },
      {
        applicationName: 'saga-tracker-local',
        // Ctrl-C reaches the embedded server too, which then closes idle connections: expected, not news.
        onError: (error) => {
          if ((error as { code?: string }).code !== '57P01')
            options.log(`idle database connection failed: ${error.message}`);
        },
      },
    );
    cleanups.push(() => pool.end());

    const schemas = () => new StaticWriterSchemas({ [SAGA_TRACKER_SCHEMA_ID]: sagaTrackerSchema() });
    // No archive locally (no S3): archived sagas and includeArchived need ARCHIVE_BUCKET in AWS.
    const api = createApiHandler(
      wireApi({ logger, pool, replaySchemas: schemas, maxClockSkewSeconds: 86_400 }),
    );
    const accountId = /^arn:aws:[a-z]+::(\d{12}):/.exec(options.principal)?.[1] ?? '000000000000';
    const server = options.createServer(
      apiGatewayListener(api, {
        functionName: 'saga-tracker-api',
        iam: { userArn: options.principal, accountId },
        ...(options.quiet
          ? {}
          : {
              onResponse: (method, url, status, millis) =>
                options.log(`${method} ${url} → ${status} (${millis.toFixed(1)} ms)`),
            }),
      }),
    );
    const port = await listen(server, options.port, options.host);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const url = `http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`;

    if (options.demo) {
      const consumeHandler = createConsumeHandler({
        logger,
        metrics: new Metrics({ namespace: 'SagaTrackerLocal', serviceName: 'saga-tracker-local' }),
        ingest: {
          schemas: schemas(),
          store: new PgIngestStore(pool),
        },
      });
      const traffic = new DemoTraffic({
        consume: (event) => consumeHandler(event, localLambdaContext('saga-tracker-consume')),
        sagasPerSecond: options.demoRate,
        onError: (error) => options.log(`demo batch failed, retrying: ${(error as Error).message}`),
      });
      const { rows } = await pool.query<{ empty: boolean }>(
        'SELECT NOT EXISTS (SELECT 1 FROM saga_instance) AS empty',
      );
      if (rows[0]?.empty && options.history > 0) {
        options.log(`writing ${options.history} demo sagas of the last 6 hours…`);
        await traffic.backfill(options.history, 6 * 60 * 60 * 1000);
      }
      traffic.start();
      cleanups.push(() => traffic.stop());
      options.log(`demo traffic: ${options.demoRate} saga(s) per second through the consume handler`);
    }

    options.log(banner(url, await sampleSagaId(pool)));
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
