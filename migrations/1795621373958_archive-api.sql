-- Up Migration

-- The archive index mirrors the saga row the API answers with; the status
-- override time is part of that answer (statusOverriddenAt), so archived
-- sagas found by a search show it too, and a re-heated saga gets it back.
ALTER TABLE saga_archive_index ADD COLUMN status_overridden_at timestamptz;

-- Search with includeArchived=true walks the archive index in the hot
-- search's order, (time, saga_id) in one direction, merged with the hot
-- tables' rows: each branch must be one index range scan in that order,
-- from the first page to the last (keyset). The first migration's indexes
-- mixed the directions (time DESC, saga_id ASC), which no such scan can use.
CREATE INDEX saga_archive_index_started_at_saga_id_idx ON saga_archive_index (started_at, saga_id);
CREATE INDEX saga_archive_index_updated_at_saga_id_idx ON saga_archive_index (updated_at, saga_id);
CREATE INDEX saga_archive_index_status_started_at_idx ON saga_archive_index (current_status, started_at, saga_id);
DROP INDEX saga_archive_index_started_at_idx;
DROP INDEX saga_archive_index_updated_at_idx;

-- Down Migration

CREATE INDEX saga_archive_index_updated_at_idx ON saga_archive_index (updated_at DESC, saga_id);
CREATE INDEX saga_archive_index_started_at_idx ON saga_archive_index (started_at DESC, saga_id);
DROP INDEX saga_archive_index_status_started_at_idx;
DROP INDEX saga_archive_index_updated_at_saga_id_idx;
DROP INDEX saga_archive_index_started_at_saga_id_idx;
ALTER TABLE saga_archive_index DROP COLUMN status_overridden_at;
