import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';

/** Where the SQL migrations live: next to the sources, or copied beside a Lambda bundle. */
export function defaultMigrationsDir(): string {
  return process.env.MIGRATIONS_DIR ?? join(__dirname, '..', '..', '..', 'migrations');
}

export interface MigrateOptions {
  /** A connection string, or client settings (e.g. a password from a secret, verified TLS). */
  readonly databaseUrl: string | pg.ClientConfig;
  readonly direction?: 'up' | 'down';
  readonly count?: number;
  readonly dir?: string;
  readonly log?: (message: string) => void;
}

/**
 * Applies the SQL migrations with node-pg-migrate: each migration runs in a
 * transaction, an advisory lock keeps two runners apart, and applied
 * migrations are recorded in `pgmigrations`.
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: options.dir ?? defaultMigrationsDir(),
    direction: options.direction ?? 'up',
    ...(options.count === undefined ? {} : { count: options.count }),
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    log: options.log ?? (() => undefined),
  });
  return applied.map((migration) => migration.name);
}
