import type pg from 'pg';

/** An S3 object of the on-failure destination: bucket, key and ETag name one batch. */
export interface BatchObjectId {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
}

export type BatchClaim =
  | { readonly kind: 'locked' }
  | { readonly kind: 'claimed'; readonly id: string; readonly status: 'PENDING' | 'REPLAYED' };

const ENSURE_ROW = `
INSERT INTO saga_dead_letter_batch (bucket, object_key, etag, condition, record_count)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (bucket, object_key, etag) DO NOTHING`;

const LOCK_ROW = `
SELECT id::text AS id, status
FROM saga_dead_letter_batch
WHERE bucket = $1 AND object_key = $2 AND etag = $3
FOR UPDATE SKIP LOCKED`;

const MARK_REPLAYED = `
UPDATE saga_dead_letter_batch
SET status = 'REPLAYED', attempts = attempts + 1, resolved_at = now(), updated_at = now(),
    record_count = $2
WHERE id = $1::bigint`;

const MARK_MOVED = `
UPDATE saga_dead_letter_batch SET moved_at = now(), updated_at = now()
WHERE bucket = $1 AND object_key = $2 AND etag = $3`;

/** A failed attempt is kept on the object's row; a row another run has resolved meanwhile stays resolved. */
const RECORD_ATTEMPT = `
INSERT INTO saga_dead_letter_batch AS b (bucket, object_key, etag, condition, record_count, attempts, last_error)
VALUES ($1, $2, $3, $4, $5, 1, $6)
ON CONFLICT (bucket, object_key, etag) DO UPDATE SET
  attempts = b.attempts + 1, last_error = EXCLUDED.last_error, updated_at = now(),
  condition = coalesce(EXCLUDED.condition, b.condition), record_count = coalesce(EXCLUDED.record_count, b.record_count)
WHERE b.status = 'PENDING'`;

export interface BatchFacts {
  readonly condition: string | null;
  readonly recordCount: number | null;
}

/**
 * The claim table that makes PostgreSQL the arbiter of S3 batches: a redrive
 * applies an object only while it holds the object's row lock, and only while
 * the row is still PENDING, so two runs never apply one object.
 */
export const deadLetterBatchSql = {
  /**
   * Makes sure the object has its row, committed on its own: a row inserted
   * inside the claiming transaction would make a second run wait on the
   * insert instead of skipping the locked row.
   */
  async ensure(client: pg.Pool | pg.ClientBase, object: BatchObjectId, facts: BatchFacts): Promise<void> {
    await client.query(ENSURE_ROW, [
      object.bucket,
      object.key,
      object.etag,
      facts.condition,
      facts.recordCount,
    ]);
  },

  /**
   * Takes the object's row lock for this transaction, or reports that another
   * run holds it. `insert` adds a missing row inside the transaction (a dry
   * run, which must leave nothing behind).
   */
  async claim(
    client: pg.ClientBase,
    object: BatchObjectId,
    facts: BatchFacts,
    options: { insert: boolean },
  ): Promise<BatchClaim> {
    const params = [object.bucket, object.key, object.etag];
    if (options.insert) await client.query(ENSURE_ROW, [...params, facts.condition, facts.recordCount]);
    const locked = await client.query<{ id: string; status: 'PENDING' | 'REPLAYED' }>(LOCK_ROW, params);
    const row = locked.rows[0];
    return row ? { kind: 'claimed', id: row.id, status: row.status } : { kind: 'locked' };
  },

  async markReplayed(client: pg.ClientBase, id: string, recordCount: number): Promise<void> {
    await client.query(MARK_REPLAYED, [id, recordCount]);
  },

  async markMoved(client: pg.Pool | pg.ClientBase, object: BatchObjectId): Promise<void> {
    await client.query(MARK_MOVED, [object.bucket, object.key, object.etag]);
  },

  async recordAttempt(
    client: pg.Pool | pg.ClientBase,
    object: BatchObjectId,
    facts: BatchFacts,
    error: string,
  ): Promise<void> {
    await client.query(RECORD_ATTEMPT, [
      object.bucket,
      object.key,
      object.etag,
      facts.condition,
      facts.recordCount,
      error,
    ]);
  },
};
