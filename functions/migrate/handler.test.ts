import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import pg from 'pg';
import { withClient } from '../../lib/adapters/pg/client';
import { defaultMigrationsDir } from '../../lib/adapters/pg/migrate';
import { lambdaContext } from '../../test/support/consume';
import { databaseUrl } from '../../test/support/database-url';
import { createMigrateHandler, type MigrateDeps } from './handler';

const server = () => {
  const url = process.env.SAGA_TRACKER_TEST_SERVER_URL;
  if (!url) throw new Error('run through jest: global setup starts PostgreSQL');
  return url;
};
const suffix = randomBytes(4).toString('hex');
const databases: string[] = [];
const roles: string[] = [];

/** An empty database, as RDS hands it over before the first deployment. */
async function emptyDatabase(): Promise<string> {
  const name = `saga_migrate_${suffix}_${databases.length}`;
  await withClient(server(), (client) => client.query(`CREATE DATABASE ${name}`));
  databases.push(name);
  return databaseUrl(server(), name);
}

function appRole(): string {
  const name = `saga_app_${suffix}_${roles.length}`;
  roles.push(name);
  return name;
}

function migrateHandler(url: string, overrides: Partial<MigrateDeps> & { appUser: string }) {
  const handler = createMigrateHandler({
    logger: new Logger({ serviceName: 'migrate-test', logLevel: 'SILENT' }),
    adminConnection: async () => url,
    grantRdsIam: false,
    migrationsDir: defaultMigrationsDir(),
    ...overrides,
  });
  return () => handler({}, lambdaContext('saga-tracker-migrate'));
}

async function privileges(url: string, role: string) {
  return withClient(url, async (client) => {
    const { rows } = await client.query(
      `SELECT has_table_privilege($1, 'saga_steps', 'INSERT') AS insert_steps,
              has_table_privilege($1, 'saga_instance', 'UPDATE') AS update_sagas,
              has_table_privilege($1, 'saga_dead_letter', 'DELETE') AS delete_dead_letters,
              has_table_privilege($1, 'pgmigrations', 'SELECT') AS read_migrations,
              has_schema_privilege($1, 'public', 'CREATE') AS create_tables,
              has_database_privilege($1, current_database(), 'CONNECT') AS connect,
              pg_has_role($1, 'rds_iam', 'MEMBER') AS rds_iam`,
      [role],
    );
    return rows[0];
  });
}

beforeAll(async () => {
  // Stands in for RDS's built-in role; a plain server has none.
  await withClient(server(), (client) =>
    client.query(
      `DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    ),
  );
});

afterAll(async () => {
  await withClient(server(), async (client) => {
    for (const name of databases) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    for (const name of roles) await client.query(`DROP ROLE IF EXISTS ${name}`);
  });
});

describe('migrate handler', () => {
  it('migrates an empty database and creates the IAM role with data-only privileges', async () => {
    const url = await emptyDatabase();
    const role = appRole();

    const result = await migrateHandler(url, { appUser: role, grantRdsIam: true })();

    const migrationFiles = (await readdir(defaultMigrationsDir())).filter((file) => file.endsWith('.sql'));
    expect(result).toEqual({
      applied: migrationFiles.map((file) => file.replace(/\.sql$/, '')).sort(),
      appUser: role,
      appUserCreated: true,
    });
    expect(await privileges(url, role)).toEqual({
      insert_steps: true,
      update_sagas: true,
      delete_dead_letters: true,
      read_migrations: false,
      create_tables: false,
      connect: true,
      rds_iam: true,
    });
  });

  it('applies nothing on a second run and keeps the role and its grants', async () => {
    const url = await emptyDatabase();
    const role = appRole();
    const run = migrateHandler(url, { appUser: role });
    await run();

    const second = await run();

    expect(second).toEqual({ applied: [], appUser: role, appUserCreated: false });
    expect(await privileges(url, role)).toEqual(
      expect.objectContaining({ insert_steps: true, read_migrations: false, rds_iam: false }),
    );
  });

  it('lets the role use tables of a later migration, and log in and write but not create tables', async () => {
    const url = await emptyDatabase();
    const role = appRole();
    const dir = await mkdtemp(join(tmpdir(), 'saga-migrations-'));
    try {
      for (const file of await readdir(defaultMigrationsDir())) {
        await copyFile(join(defaultMigrationsDir(), file), join(dir, file));
      }
      await migrateHandler(url, { appUser: role, migrationsDir: dir })();
      await writeFile(
        join(dir, '9999999999999_later-table.sql'),
        '-- Up Migration\nCREATE TABLE later_table (id bigserial PRIMARY KEY, note text);\n-- Down Migration\nDROP TABLE later_table;\n',
      );

      const result = await migrateHandler(url, { appUser: role, migrationsDir: dir })();

      expect(result.applied).toEqual(['9999999999999_later-table']);
      await withClient(url, (client) => client.query(`ALTER ROLE ${role} PASSWORD 'test-only'`));
      const appUrl = new URL(url);
      appUrl.username = role;
      appUrl.password = 'test-only';
      const asApp = new pg.Client({ connectionString: appUrl.toString() });
      await asApp.connect();
      try {
        const { rows: who } = await asApp.query('SELECT current_user AS name');
        expect(who).toEqual([{ name: role }]);
        await asApp.query("INSERT INTO later_table (note) VALUES ('written by the app role')");
        const { rows } = await asApp.query('SELECT note FROM later_table');
        expect(rows).toEqual([{ note: 'written by the app role' }]);
        await expect(asApp.query('CREATE TABLE not_allowed (id int)')).rejects.toThrow(/permission denied/);
        await expect(asApp.query('SELECT * FROM pgmigrations')).rejects.toThrow(/permission denied/);
      } finally {
        await asApp.end();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails the run, naming rds_iam, when IAM login is asked of a server without it', async () => {
    const url = await emptyDatabase();
    const role = appRole();
    const withoutRdsIam = async () => {
      // A server without the role: rename it away for this run only.
      await withClient(server(), (client) => client.query('ALTER ROLE rds_iam RENAME TO rds_iam_hidden'));
      try {
        return await migrateHandler(url, { appUser: role, grantRdsIam: true })();
      } finally {
        await withClient(server(), (client) => client.query('ALTER ROLE rds_iam_hidden RENAME TO rds_iam'));
      }
    };

    await expect(withoutRdsIam()).rejects.toThrow(/no rds_iam role/);
    const exists = await withClient(url, (client) =>
      client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]),
    );
    expect(exists.rowCount).toBe(0);
  });
});
