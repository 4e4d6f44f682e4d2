-- Up Migration

-- Operators force a saga's status through the admin API. The override changes
-- current_status but not the event-time ordering key (last_recorded_at,
-- last_event_timestamp, last_event_id): a producer event newer in event time
-- than the saga's latest step takes over again, older ones do not.
ALTER TABLE saga_instance ADD COLUMN status_overridden_at timestamptz;

-- The audit of every override: who (the IAM principal), when, why and the
-- status it replaced. Kept apart from saga_steps so step_count stays the exact
-- count of producer events.
CREATE TABLE saga_status_override (
  id               bigserial    PRIMARY KEY,
  saga_id          varchar(100) NOT NULL REFERENCES saga_instance (saga_id) ON DELETE CASCADE,
  previous_status  varchar(20)  NOT NULL,
  new_status       varchar(20)  NOT NULL,
  reason           text         NOT NULL,
  principal        text         NOT NULL,
  principal_account varchar(20),
  request_id       text,
  overridden_at    timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX saga_status_override_saga_id_idx ON saga_status_override (saga_id, overridden_at);

-- Keyset pagination: every sort is (time, saga_id), with and without a status
-- filter, so any page of a search is one short index range scan whatever its
-- depth. Each of these replaces a single-column index of the first migration
-- whose column it leads with (same lookups, one index fewer to maintain on
-- every saga update).
-- The columns statistics read ride along, so a period's statistics are an
-- index-only scan instead of one heap visit per saga.
CREATE INDEX saga_instance_started_at_saga_id_idx ON saga_instance (started_at, saga_id)
  INCLUDE (saga_type, current_status, last_recorded_at, failed_at, compensated_at);
CREATE INDEX saga_instance_updated_at_saga_id_idx ON saga_instance (updated_at, saga_id);
CREATE INDEX saga_instance_status_started_at_idx ON saga_instance (current_status, started_at, saga_id);
CREATE INDEX saga_instance_status_updated_at_idx ON saga_instance (current_status, updated_at, saga_id);

-- Duration percentiles read terminal sagas only: a small partial index (a saga
-- enters it once, when it ends) spares the status test and the other columns.
CREATE INDEX saga_instance_terminal_started_at_idx ON saga_instance (started_at) INCLUDE (last_recorded_at)
  WHERE current_status IN ('COMPLETED', 'FAILED', 'COMPENSATED');

DROP INDEX saga_instance_started_at_idx;
DROP INDEX saga_instance_updated_at_idx;
DROP INDEX saga_instance_current_status_idx;

-- Down Migration

CREATE INDEX saga_instance_current_status_idx ON saga_instance (current_status);
CREATE INDEX saga_instance_updated_at_idx ON saga_instance (updated_at);
CREATE INDEX saga_instance_started_at_idx ON saga_instance (started_at);
DROP INDEX saga_instance_terminal_started_at_idx;
DROP INDEX saga_instance_status_updated_at_idx;
DROP INDEX saga_instance_status_started_at_idx;
DROP INDEX saga_instance_updated_at_saga_id_idx;
DROP INDEX saga_instance_started_at_saga_id_idx;
DROP TABLE saga_status_override;
ALTER TABLE saga_instance DROP COLUMN status_overridden_at;
