import { withClient } from '../../lib/adapters/pg/client';
import { migrate } from '../../lib/adapters/pg/migrate';
import { FAST_UNSAFE_SETTINGS, startLocalPostgres } from '../../local/postgres';
import { databaseUrl, TEMPLATE_DATABASE } from './database-url';

declare global {
  // Handed from global setup to global teardown (same process).
  var __SAGA_TRACKER_PG__: { stop(): Promise<void> } | undefined;
}

/**
 * Starts one PostgreSQL for the whole run (embedded, unless DATABASE_URL points
 * at a server) and builds a migrated template database that every test file
 * clones into a database of its own.
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const server = await startLocalPostgres({
      settings: { ...FAST_UNSAFE_SETTINGS, max_connections: '300' },
    });
    globalThis.__SAGA_TRACKER_PG__ = server;
    serverUrl = server.url;
  }
  process.env.SAGA_TRACKER_TEST_SERVER_URL = serverUrl;
  await withClient(serverUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  });
  await migrate({ databaseUrl: databaseUrl(serverUrl, TEMPLATE_DATABASE) });
}
