import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withClient } from '../../lib/adapters/pg/client';
import { configurePgTypes } from '../../lib/adapters/pg/types';
import { databaseUrl, TEMPLATE_DATABASE } from './database-url';

export interface TestDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  /** Drops the database; call from afterAll. */
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.SAGA_TRACKER_TEST_SERVER_URL;
  if (!url)
    throw new Error(
      'SAGA_TRACKER_TEST_SERVER_URL is not set: run tests through jest (global setup starts PostgreSQL)',
    );
  return url;
}

/** A freshly migrated database of this test file's own, cloned from the template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `saga_test_${randomBytes(6).toString('hex')}`;
  const server = serverUrl();
  await withClient(server, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`));
  const url = databaseUrl(server, name);
  configurePgTypes();
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  // An idle connection the server drops (a fault-injection test, a restart) must not crash the test process.
  pool.on('error', () => undefined);
  return {
    url,
    pool,
    async drop() {
      // end() resolves before idle connections have closed, and the FORCE drop below may terminate
      // them: expected here, not an unhandled pool error.
      pool.on('error', () => undefined);
      await pool.end();
      await withClient(server, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Empties every data table between tests of one file (the migration record stays). */
export async function truncateAll(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ tables: string | null }>(
    `SELECT string_agg(format('%I', tablename), ', ') AS tables
     FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'pgmigrations'`,
  );
  if (rows[0]?.tables) await pool.query(`TRUNCATE ${rows[0].tables} RESTART IDENTITY CASCADE`);
}
