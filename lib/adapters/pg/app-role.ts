import type pg from 'pg';
import { ConfigError } from '../../errors';

/** The migrations' own bookkeeping: the application has no business there. */
const MIGRATIONS_TABLE = 'pgmigrations';

/** Privileges the application role holds on the schema's tables: data only, never DDL. */
const TABLE_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE';
const SEQUENCE_PRIVILEGES = 'USAGE, SELECT';

export interface AppRoleOptions {
  /** The login role the functions use (a lower-case identifier, validated by the caller's config). */
  readonly user: string;
  /**
   * Grant `rds_iam`, so the role logs in with IAM tokens only (RDS, and RDS
   * Proxy with end-to-end IAM authentication). Fails when the server has no
   * such role (it is not RDS, or IAM authentication is off).
   */
  readonly rdsIam: boolean;
}

export interface AppRoleResult {
  readonly created: boolean;
}

/**
 * Creates (or repairs) the application's login role and grants it data access
 * to every table of the schema, present and future, except the migrations
 * table. Runs as the schema owner after the migrations; safe to run again.
 *
 * Identifiers cannot be bind parameters in GRANT/CREATE ROLE: the names come
 * from deployment config (checked against a strict identifier pattern) and are
 * quoted with the driver's escapeIdentifier.
 */
export async function ensureAppRole(client: pg.ClientBase, options: AppRoleOptions): Promise<AppRoleResult> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.user)) {
    throw new ConfigError(`not a plain PostgreSQL identifier: ${options.user}`);
  }
  const role = client.escapeIdentifier(options.user);
  await client.query('BEGIN');
  try {
    // One runner at a time: CREATE ROLE has no IF NOT EXISTS.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('saga-tracker:app-role'))");
    const existing = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [options.user]);
    const created = existing.rowCount === 0;
    if (created) await client.query(`CREATE ROLE ${role} LOGIN`);
    else await client.query(`ALTER ROLE ${role} LOGIN`);

    if (options.rdsIam) {
      const rdsIam = await client.query("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'");
      if (rdsIam.rowCount === 0) {
        throw new ConfigError(
          'the server has no rds_iam role: IAM database authentication needs Amazon RDS with IAM authentication enabled',
        );
      }
      await client.query(`GRANT rds_iam TO ${role}`);
    }

    const { rows } = await client.query<{ database: string }>('SELECT current_database() AS database');
    const database = client.escapeIdentifier(rows[0]?.database ?? '');
    await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await client.query(`GRANT ${TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO ${role}`);
    await client.query(`GRANT ${SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    // Tables and sequences the owner creates in later migrations get the same grants.
    await client.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ${TABLE_PRIVILEGES} ON TABLES TO ${role}`,
    );
    await client.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ${SEQUENCE_PRIVILEGES} ON SEQUENCES TO ${role}`,
    );
    const migrations = await client.query<{ sequence: string | null }>(
      `SELECT pg_get_serial_sequence($1, 'id') AS sequence FROM pg_tables
       WHERE schemaname = 'public' AND tablename = $1`,
      [MIGRATIONS_TABLE],
    );
    if (migrations.rowCount) {
      await client.query(`REVOKE ALL ON TABLE ${client.escapeIdentifier(MIGRATIONS_TABLE)} FROM ${role}`);
      const sequence = migrations.rows[0]?.sequence;
      // pg_get_serial_sequence answers an already quoted, schema-qualified name.
      if (sequence) await client.query(`REVOKE ALL ON SEQUENCE ${sequence} FROM ${role}`);
    }
    await client.query('COMMIT');
    return { created };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
