import type pg from 'pg';
import { TransientError } from '../../errors';

/** SQLSTATEs worth retrying: the same work can succeed a moment later. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const TRANSIENT_SQLSTATE_CLASSES = ['08', '53', '57', '58'];
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03']);
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
const TRANSIENT_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /query read timeout/i,
  /client has encountered a connection error/i,
  /connection ended/i,
];

/** True when a database error means "try again later" rather than "this is wrong". */
export function isTransientDbError(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code)) return true;
    if (code.length === 5 && TRANSIENT_SQLSTATE_CLASSES.some((prefix) => code.startsWith(prefix)))
      return true;
  }
  return TRANSIENT_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** Wraps transient database failures as `TransientError`, keeping the cause. */
export function classifyDbError(error: unknown, what: string): unknown {
  if (error instanceof TransientError || !isTransientDbError(error)) return error;
  return new TransientError(`database unavailable during ${what}: ${(error as Error).message}`, {
    cause: error,
  });
}

export interface TransactionOptions {
  /** Attempts for serialization failures and deadlocks, which are safe to rerun whole. */
  readonly attempts?: number;
  readonly what?: string;
}

/**
 * Runs `work` in one transaction on one client. Deadlocks and serialization
 * failures are retried a few times; other failures roll back and escape,
 * transient ones as `TransientError`.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  const what = options.what ?? 'transaction';
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw classifyDbError(error, what);
    }
    let broken = false;
    // A connection lost mid-transaction is also emitted as an 'error' event on
    // the checked-out client; unheard, it would crash the Lambda environment.
    const onConnectionError = () => {
      broken = true;
    };
    client.on('error', onConnectionError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      const code = (error as { code?: unknown }).code;
      if (attempt < attempts && typeof code === 'string' && RETRYABLE_SQLSTATES.has(code)) continue;
      throw classifyDbError(error, what);
    } finally {
      client.off('error', onConnectionError);
      // A client whose connection failed must not go back into the pool.
      client.release(broken);
    }
  }
}
