import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type pg from 'pg';
import { createPool } from './adapters/pg/pool';
import { basicCredentialsFromSecret } from './adapters/secrets';
import { databaseEnvSchema, parseEnv, toDatabaseConfig } from './config';
import { createLogger, createMetrics, type Telemetry, telemetryFromEnv } from './telemetry';

type Env = Readonly<Record<string, string | undefined>>;

/** What every function builds once per Lambda environment, at cold start. */
export interface FunctionRuntime {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly telemetry: Telemetry;
  readonly pool: pg.Pool;
}

export interface FunctionRuntimeOptions {
  /** Database settings this function needs unless the environment says otherwise. */
  readonly databaseDefaults?: Readonly<Record<string, string>>;
  readonly env?: Env;
}

/**
 * Logger, metrics, telemetry and the database pool of function `name`
 * (`consume`, `api`, …). Bad configuration fails here, naming the variable.
 */
export function createFunctionRuntime(name: string, options: FunctionRuntimeOptions = {}): FunctionRuntime {
  const env = options.env ?? process.env;
  const serviceName = `saga-tracker-${name}`;
  const logger = createLogger(serviceName);
  const metrics = createMetrics(serviceName);
  const telemetry = telemetryFromEnv(name, { logger, metrics }, env);
  const database = toDatabaseConfig(parseEnv(databaseEnvSchema, { ...options.databaseDefaults, ...env }));
  const pool = createPool(database, {
    applicationName: serviceName,
    onError: (error) => logger.warn('idle database connection failed', { error }),
  });
  return { logger, metrics, telemetry, pool };
}

/** Registry credentials from Secrets Manager, one reader per secret for the environment's life. */
export function secretCredentialsCache(): (secretArn: string) => () => Promise<string> {
  const bySecret = new Map<string, () => Promise<string>>();
  return (secretArn) => {
    let credentials = bySecret.get(secretArn);
    if (!credentials) {
      credentials = basicCredentialsFromSecret(secretArn);
      bySecret.set(secretArn, credentials);
    }
    return credentials;
  };
}
