-- Up Migration

-- One row per saga. The saga's current state comes from its latest step in
-- event time; last_recorded_at/last_event_timestamp/last_event_id hold that
-- step's ordering key so any arrival order folds to the same row.
CREATE TABLE saga_instance (
  saga_id               varchar(100) PRIMARY KEY,
  saga_type             varchar(50)  NOT NULL,  -- open set: no CHECK, new types need no migration
  order_id              varchar(100) NOT NULL,
  current_status        varchar(20)  NOT NULL,
  last_step             varchar(100) NOT NULL,
  last_trace_id         varchar(100),
  started_at            timestamptz  NOT NULL,
  updated_at            timestamptz  NOT NULL,
  created_at            timestamptz  NOT NULL DEFAULT now(),
  step_count            integer      NOT NULL,
  last_recorded_at      timestamptz  NOT NULL,
  last_event_timestamp  timestamptz  NOT NULL,
  last_event_id         varchar(100) COLLATE "C" NOT NULL,
  -- Earliest FAILED and COMPENSATED steps: order-independent facts for the
  -- failure/compensation metrics and the uncompensated-failure alert.
  failed_at             timestamptz,
  compensated_at        timestamptz
);

CREATE INDEX saga_instance_order_id_idx ON saga_instance (order_id);
CREATE INDEX saga_instance_current_status_idx ON saga_instance (current_status);
CREATE INDEX saga_instance_saga_type_idx ON saga_instance (saga_type);
CREATE INDEX saga_instance_started_at_idx ON saga_instance (started_at);
CREATE INDEX saga_instance_updated_at_idx ON saga_instance (updated_at);
CREATE INDEX saga_instance_type_status_idx ON saga_instance (saga_type, current_status);
CREATE INDEX saga_instance_started_desc_status_idx ON saga_instance (started_at DESC, current_status);

-- One row per accepted event. All Avro fields are kept so a step is a complete
-- record of its event (and a repeated eventId can be compared with it).
CREATE TABLE saga_steps (
  id                bigserial    PRIMARY KEY,
  -- Deferred so a batch can insert steps and fold them into their saga rows in one statement.
  saga_id           varchar(100) NOT NULL
                    REFERENCES saga_instance (saga_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  event_id          varchar(100) COLLATE "C" NOT NULL,
  step              varchar(100) NOT NULL,
  status            varchar(20)  NOT NULL,
  producer_service  varchar(50),
  trace_id          varchar(100),
  metadata          jsonb,
  recorded_at       timestamptz  NOT NULL,
  created_at        timestamptz  NOT NULL DEFAULT now(),
  event_timestamp   timestamptz  NOT NULL,
  saga_type         varchar(50)  NOT NULL,
  order_id          varchar(100) NOT NULL,
  CONSTRAINT saga_steps_event_id_key UNIQUE (event_id)
);

CREATE INDEX saga_steps_saga_id_idx ON saga_steps (saga_id);
CREATE INDEX saga_steps_step_idx ON saga_steps (step);
CREATE INDEX saga_steps_recorded_at_idx ON saga_steps (recorded_at);
CREATE INDEX saga_steps_status_idx ON saga_steps (status);
CREATE INDEX saga_steps_saga_id_step_idx ON saga_steps (saga_id, step);
CREATE INDEX saga_steps_saga_id_recorded_at_idx ON saga_steps (saga_id, recorded_at);
CREATE INDEX saga_steps_metadata_idx ON saga_steps USING gin (metadata jsonb_path_ops);

-- Kafka records that could not be applied, kept with their raw bytes and the
-- reason, once per Kafka record however often it is delivered.
CREATE TABLE saga_dead_letter (
  id               bigserial    PRIMARY KEY,
  topic            text         NOT NULL,
  kafka_partition  integer      NOT NULL,
  kafka_offset     bigint       NOT NULL,
  kafka_timestamp  timestamptz,
  timestamp_type   text,
  record_key       bytea,
  record_value     bytea,
  -- Headers exactly as the event source mapping delivered them.
  headers          jsonb        NOT NULL DEFAULT '[]'::jsonb,
  event_id         varchar(100) COLLATE "C",
  saga_id          varchar(100),
  reason           varchar(40)  NOT NULL,
  reason_message   text         NOT NULL,
  status           varchar(20)  NOT NULL DEFAULT 'PENDING',
  attempts         integer      NOT NULL DEFAULT 0,
  last_error       text,
  source           varchar(20)  NOT NULL DEFAULT 'consumer',
  created_at       timestamptz  NOT NULL DEFAULT now(),
  updated_at       timestamptz  NOT NULL DEFAULT now(),
  resolved_at      timestamptz,
  CONSTRAINT saga_dead_letter_record_key UNIQUE (topic, kafka_partition, kafka_offset)
);

CREATE INDEX saga_dead_letter_event_id_idx ON saga_dead_letter (event_id);
CREATE INDEX saga_dead_letter_pending_idx ON saga_dead_letter (reason, created_at) WHERE status = 'PENDING';

-- Down Migration

DROP TABLE saga_dead_letter;
DROP TABLE saga_steps;
DROP TABLE saga_instance;
