import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { databaseUrl } from '../../../test/support/database-url';
import { withClient } from './client';

const run = promisify(execFile);
const serverUrl = () => process.env.SAGA_TRACKER_TEST_SERVER_URL ?? '';

async function npmMigrate(url: string, ...args: string[]) {
  return run('npm', ['run', '--silent', 'migrate', '--', ...args], {
    env: { ...process.env, DATABASE_URL: url },
    cwd: `${__dirname}/../../..`,
  });
}

describe('migrations', () => {
  const name = `saga_migrate_${randomBytes(4).toString('hex')}`;
  const url = databaseUrl(serverUrl(), name);
  beforeAll(() => withClient(serverUrl(), (client) => client.query(`CREATE DATABASE ${name}`)));
  afterAll(() =>
    withClient(serverUrl(), (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  );

  it('applies on an empty database with `npm run migrate`, rolls back, and applies again', async () => {
    const up = await npmMigrate(url);
    expect(up.stdout).toContain('saga-tracker-schema');
    const again = await npmMigrate(url);
    expect(again.stdout).toContain('nothing to apply');

    const tables = () =>
      withClient(url, async (client) =>
        (
          await client.query(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
          )
        ).rows.map((row) => row.table_name),
      );
    expect(await tables()).toEqual(
      expect.arrayContaining(['saga_dead_letter', 'saga_instance', 'saga_steps']),
    );

    await npmMigrate(url, 'down', '100');
    expect(await tables()).toEqual(['pgmigrations']);
    await npmMigrate(url);
    expect(await tables()).toEqual(expect.arrayContaining(['saga_instance']));
  });

  // pgmigrations belongs to node-pg-migrate; every table of ours uses timestamptz.
  it('stores every timestamp with its time zone and leaves saga_type open', async () => {
    await npmMigrate(url);
    await withClient(url, async (client) => {
      const zoneless = await client.query(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'
           AND table_name <> 'pgmigrations'`,
      );
      expect(zoneless.rows).toEqual([]);
      const checks = await client.query(
        `SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid = 'saga_instance'::regclass`,
      );
      expect(checks.rows).toEqual([]);
    });
  });

  it('fails with a clear message when DATABASE_URL is missing', async () => {
    await expect(npmMigrate('')).rejects.toMatchObject({
      stderr: expect.stringContaining('DATABASE_URL is required'),
    });
  });
});
