import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type pg from 'pg';
import { z } from 'zod';
import { defaultMigrationsDir } from '../../lib/adapters/pg/migrate';
import { databaseEnvSchema, parseEnv, toDatabaseConfig } from '../../lib/config';
import { migrateEnvSchema } from '../../lib/config/migrate';
import { ConfigError } from '../../lib/errors';
import { createLogger } from '../../lib/telemetry';
import { createMigrateHandler } from './handler';

const logger = createLogger('saga-tracker-migrate');
const database = toDatabaseConfig(parseEnv(databaseEnvSchema, process.env));
const settings = parseEnv(migrateEnvSchema, process.env);

// The generated RDS secret: {username, password, host, port, dbname, ...}.
const adminSecretSchema = z.object({ username: z.string(), password: z.string() });

function adminConnection(): () => Promise<string | pg.ClientConfig> {
  if (database.kind === 'url') return async () => database.url;
  if (database.kind === 'iam') {
    throw new ConfigError(
      'invalid configuration: DB_AUTH: the migration runs as the schema owner, use secret',
    );
  }
  const secrets = new SecretsManagerClient(database.region ? { region: database.region } : {});
  return async () => {
    const answer = await secrets.send(new GetSecretValueCommand({ SecretId: database.secretArn }));
    const secret = adminSecretSchema.parse(JSON.parse(answer.SecretString ?? '{}'));
    return {
      host: database.host,
      port: database.port,
      database: database.database,
      user: secret.username,
      password: secret.password,
      // Straight to the instance: its certificate chains to the RDS CA (NODE_EXTRA_CA_CERTS).
      ssl: { rejectUnauthorized: true },
      connectionTimeoutMillis: database.connectTimeoutMs,
      application_name: 'saga-tracker-migrate',
    };
  };
}

export const handler = createMigrateHandler({
  logger,
  adminConnection: adminConnection(),
  appUser: settings.APP_DB_USER,
  grantRdsIam: settings.APP_DB_IAM,
  migrationsDir: settings.MIGRATIONS_DIR ?? defaultMigrationsDir(),
});
