-- Up Migration

-- The state-gauges function counts, every minute, FAILED sagas that no
-- COMPENSATED step followed (saga_failed_uncompensated, the
-- SagaCompensationTimeout alert). This partial index holds exactly those
-- sagas, so the count stays cheap however many sagas failed and were
-- compensated over the 90 hot days.
CREATE INDEX saga_instance_failed_uncompensated_idx
  ON saga_instance (failed_at)
  WHERE current_status = 'FAILED' AND compensated_at IS NULL;

-- The dashboard's "recent failed sagas" table lists sagas by failure time;
-- only failed sagas are in this index.
CREATE INDEX saga_instance_failed_at_idx
  ON saga_instance (failed_at DESC)
  WHERE failed_at IS NOT NULL;

-- Down Migration

DROP INDEX saga_instance_failed_at_idx;
DROP INDEX saga_instance_failed_uncompensated_idx;
