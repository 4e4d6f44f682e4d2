import { ConfigError } from '../errors';
import { databaseEnvSchema, parseEnv, schemaRegistryEnvSchema, toDatabaseConfig } from '.';

describe('parseEnv', () => {
  it('reads a local DATABASE_URL with defaults', () => {
    const config = toDatabaseConfig(
      parseEnv(databaseEnvSchema, { DATABASE_URL: 'postgres://u:p@localhost:5432/db' }),
    );
    expect(config).toEqual({
      kind: 'url',
      url: 'postgres://u:p@localhost:5432/db',
      poolMax: 2,
      statementTimeoutMs: 60_000,
      connectTimeoutMs: 5_000,
    });
  });

  it('reads an AWS deployment with IAM authentication', () => {
    const config = toDatabaseConfig(
      parseEnv(databaseEnvSchema, {
        DB_HOST: 'proxy.example',
        DB_NAME: 'saga',
        DB_USER: 'tracker',
        DB_AUTH: 'iam',
        DB_PORT: '6432',
        AWS_REGION: 'ap-northeast-2',
      }),
    );
    expect(config).toEqual(
      expect.objectContaining({
        kind: 'iam',
        host: 'proxy.example',
        port: 6432,
        database: 'saga',
        user: 'tracker',
      }),
    );
  });

  it('names every missing variable', () => {
    expect(() => parseEnv(databaseEnvSchema, { DB_AUTH: 'secret' })).toThrow(ConfigError);
    expect(() => parseEnv(databaseEnvSchema, { DB_AUTH: 'secret' })).toThrow(
      /DB_HOST: required when DATABASE_URL is not set; DB_NAME: .*DB_USER: .*DB_SECRET_ARN: required when DB_AUTH=secret/,
    );
  });

  it('names a malformed variable', () => {
    expect(() => parseEnv(databaseEnvSchema, { DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() =>
      parseEnv(databaseEnvSchema, { DATABASE_URL: 'postgres://x/db', DB_POOL_MAX: 'many' }),
    ).toThrow(/DB_POOL_MAX/);
    expect(() =>
      parseEnv(schemaRegistryEnvSchema, { SCHEMA_REGISTRY_STATIC_SCHEMAS: '{"one":"x"}' }),
    ).toThrow(/SCHEMA_REGISTRY_STATIC_SCHEMAS/);
    expect(() => parseEnv(schemaRegistryEnvSchema, { SCHEMA_REGISTRY_AUTH: 'no-colon' })).toThrow(
      /SCHEMA_REGISTRY_AUTH/,
    );
  });

  it('treats empty variables as unset', () => {
    const parsed = parseEnv(schemaRegistryEnvSchema, {
      SCHEMA_REGISTRY_URL: '',
      SCHEMA_REGISTRY_STATIC_SCHEMAS: '{"1":"SagaTracker.avsc"}',
    });
    expect(parsed.SCHEMA_REGISTRY_URL).toBeUndefined();
    expect(parsed.SCHEMA_REGISTRY_STATIC_SCHEMAS).toEqual({ '1': 'SagaTracker.avsc' });
  });
});
