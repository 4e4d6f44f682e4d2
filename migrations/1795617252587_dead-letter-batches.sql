-- Up Migration

-- Whole batches the event source mapping gave up on, as written by its S3
-- on-failure destination, once redrive has looked at them. The object in S3
-- stays the copy of record; this row is the arbiter that lets only one redrive
-- apply an object (the local S3 server ignores conditional writes, and even
-- real S3 cannot make "apply to PostgreSQL, then move" atomic). An object is
-- identified by bucket, key and ETag: a different body under the same key is
-- another batch.
CREATE TABLE saga_dead_letter_batch (
  id               bigserial    PRIMARY KEY,
  bucket           text         NOT NULL,
  object_key       text         NOT NULL,
  etag             text         NOT NULL,
  -- PENDING: not applied yet (or failed); REPLAYED: applied, the object moves to redriven/.
  status           varchar(20)  NOT NULL DEFAULT 'PENDING',
  -- requestContext.condition of the on-failure record, e.g. RetryAttemptsExhausted.
  condition        text,
  record_count     integer,
  attempts         integer      NOT NULL DEFAULT 0,
  last_error       text,
  created_at       timestamptz  NOT NULL DEFAULT now(),
  updated_at       timestamptz  NOT NULL DEFAULT now(),
  resolved_at      timestamptz,
  -- When the object reached the redriven/ prefix; NULL while the move is still owed.
  moved_at         timestamptz,
  CONSTRAINT saga_dead_letter_batch_object_key UNIQUE (bucket, object_key, etag)
);

CREATE INDEX saga_dead_letter_batch_pending_idx ON saga_dead_letter_batch (created_at) WHERE status = 'PENDING';

-- Listing dead letters newest first, filtered by status (the API's default view).
CREATE INDEX saga_dead_letter_status_created_idx ON saga_dead_letter (status, created_at DESC, id DESC);

-- Down Migration

DROP INDEX saga_dead_letter_status_created_idx;
DROP TABLE saga_dead_letter_batch;
