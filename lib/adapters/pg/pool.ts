import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Signer } from '@aws-sdk/rds-signer';
import pg from 'pg';
import { z } from 'zod';
import type { DatabaseConfig } from '../../config';
import { configurePgTypes } from './types';

/** Remembers an async value for `ttlMs`, fetching again after that. */
export function cachedFor<T>(
  ttlMs: number,
  fetch: () => Promise<T>,
  now: () => number = Date.now,
): () => Promise<T> {
  let cached: { value: Promise<T>; until: number } | undefined;
  return () => {
    if (!cached || cached.until <= now()) {
      const value = fetch();
      cached = { value, until: now() + ttlMs };
      value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
}

const dbSecretSchema = z.object({ password: z.string() });

/** The password of an AWS deployment: an IAM auth token or a Secrets Manager secret. */
function passwordSource(config: Extract<DatabaseConfig, { kind: 'iam' | 'secret' }>): () => Promise<string> {
  if (config.kind === 'iam') {
    const signer = new Signer({
      hostname: config.host,
      port: config.port,
      username: config.user,
      ...(config.region ? { region: config.region } : {}),
    });
    // Tokens live 15 minutes; renew well before that.
    return cachedFor(10 * 60_000, () => signer.getAuthToken());
  }
  const client = new SecretsManagerClient(config.region ? { region: config.region } : {});
  // Re-read every few minutes so a rotated secret is picked up without a cold start.
  const secret = cachedFor(5 * 60_000, async () => {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: config.secretArn }));
    return dbSecretSchema.parse(JSON.parse(answer.SecretString ?? '{}'));
  });
  return async () => (await secret()).password;
}

export interface PoolOptions {
  readonly applicationName?: string;
  readonly onError?: (error: Error) => void;
}

/**
 * One small pool per Lambda environment. In AWS the connection is TLS verified
 * against the Amazon CAs (the runtime loads them via NODE_EXTRA_CA_CERTS).
 */
export function createPool(config: DatabaseConfig, options: PoolOptions = {}): pg.Pool {
  configurePgTypes();
  const common: pg.PoolConfig = {
    max: config.poolMax,
    statement_timeout: config.statementTimeoutMs,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: 60_000,
    application_name: options.applicationName ?? 'saga-tracker',
  };
  let pool: pg.Pool;
  if (config.kind === 'url') {
    pool = new pg.Pool({ ...common, connectionString: config.url });
  } else {
    pool = new pg.Pool({
      ...common,
      host: config.host,
      port: config.port,
      database: config.database,
      user: config.user,
      password: passwordSource(config),
      ssl: { rejectUnauthorized: true },
    });
  }
  // An idle client losing its connection (failover, restart) must not crash the environment.
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}
