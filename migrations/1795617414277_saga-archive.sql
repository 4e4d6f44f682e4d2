-- Up Migration

-- One row per object the archiver wrote to S3. A row is PENDING from just
-- before its upload until the transaction that deletes its sagas from the hot
-- tables marks it COMMITTED; a PENDING row left behind by a crashed run names
-- an object nothing points to, which the next run deletes.
CREATE TABLE saga_archive_object (
  object_key      text         PRIMARY KEY,
  bucket          text         NOT NULL,
  saga_type       varchar(50)  NOT NULL,
  -- The UTC day of the sagas' last update: the key's year=/month=/day= partition.
  partition_date  date         NOT NULL,
  status          varchar(10)  NOT NULL CHECK (status IN ('PENDING', 'COMMITTED')),
  run_id          text         NOT NULL,
  -- Lines (one per saga) and steps in the object, and the sagas committed from it.
  line_count      integer      NOT NULL,
  step_count      integer      NOT NULL,
  saga_count      integer      NOT NULL DEFAULT 0,
  byte_count      bigint       NOT NULL,
  -- Base64 SHA-256 of the whole object, as S3's x-amz-checksum-sha256 carries it.
  sha256          text         NOT NULL,
  created_at      timestamptz  NOT NULL DEFAULT now(),
  committed_at    timestamptz,
  -- Last time a verify run read the whole object back and found it intact.
  verified_at     timestamptz
);

CREATE INDEX saga_archive_object_pending_idx ON saga_archive_object (created_at) WHERE status = 'PENDING';
CREATE INDEX saga_archive_object_verify_idx ON saga_archive_object (verified_at NULLS FIRST, committed_at)
  WHERE status = 'COMMITTED';

-- One row per archived saga: its saga_instance row (the summary the API and
-- search answer with, and what ingest re-seeds a saga from when a late event
-- arrives), its event ids (so a redelivered archived event stays a duplicate),
-- and where its gzip member sits in which object, with the member's checksum.
CREATE TABLE saga_archive_index (
  saga_id               varchar(100) PRIMARY KEY,
  saga_type             varchar(50)  NOT NULL,
  order_id              varchar(100) NOT NULL,
  current_status        varchar(20)  NOT NULL,
  last_step             varchar(100) NOT NULL,
  last_trace_id         varchar(100),
  started_at            timestamptz  NOT NULL,
  updated_at            timestamptz  NOT NULL,
  created_at            timestamptz  NOT NULL,
  step_count            integer      NOT NULL,
  last_recorded_at      timestamptz  NOT NULL,
  last_event_timestamp  timestamptz  NOT NULL,
  last_event_id         varchar(100) COLLATE "C" NOT NULL,
  failed_at             timestamptz,
  compensated_at        timestamptz,
  event_ids             text[]       COLLATE "C" NOT NULL,
  object_key            text         NOT NULL REFERENCES saga_archive_object (object_key),
  byte_offset           bigint       NOT NULL CHECK (byte_offset >= 0),
  byte_length           integer      NOT NULL CHECK (byte_length > 0),
  -- SHA-256 of the saga's gzip member: readers verify it, S3 does not on a ranged GET.
  sha256                bytea        NOT NULL,
  archived_at           timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX saga_archive_index_order_id_idx ON saga_archive_index (order_id);
CREATE INDEX saga_archive_index_current_status_idx ON saga_archive_index (current_status);
CREATE INDEX saga_archive_index_type_status_idx ON saga_archive_index (saga_type, current_status);
CREATE INDEX saga_archive_index_started_at_idx ON saga_archive_index (started_at DESC, saga_id);
CREATE INDEX saga_archive_index_updated_at_idx ON saga_archive_index (updated_at DESC, saga_id);
CREATE INDEX saga_archive_index_object_key_idx ON saga_archive_index (object_key);

-- Keeps archiver runs apart: a schedule firing while a run is still going
-- finds the lease held and does nothing. It expires, so a run killed at its
-- Lambda timeout does not block the next one.
CREATE TABLE saga_archive_lease (
  name        text         PRIMARY KEY,
  holder      text         NOT NULL,
  expires_at  timestamptz  NOT NULL
);

-- Down Migration

DROP TABLE saga_archive_lease;
DROP TABLE saga_archive_index;
DROP TABLE saga_archive_object;
