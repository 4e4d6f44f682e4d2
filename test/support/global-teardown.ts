import { withClient } from '../../lib/adapters/pg/client';
import { TEMPLATE_DATABASE } from './database-url';

export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env.SAGA_TRACKER_TEST_SERVER_URL;
  if (serverUrl && !globalThis.__SAGA_TRACKER_PG__) {
    // An external server outlives the run: leave it as we found it.
    await withClient(serverUrl, (client) =>
      client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`),
    );
  }
  await globalThis.__SAGA_TRACKER_PG__?.stop();
}
