-- Checkpoint paging of /api/v2/logs (`from` a log id, `take`) hands a log exporter every event
-- exactly once, so it reads events in an order no later commit can insert into: the id of the
-- transaction that wrote the event, then the event id. Event ids are random and `at` is when
-- the writing transaction started, so either alone would let an event that commits late land
-- behind a checkpoint already read. A reader only returns events of transactions older than
-- every transaction still running (`pg_snapshot_xmin`), so all events before its last one
-- are final. Existing events all get this migration's transaction id.

ALTER TABLE events ADD COLUMN txn xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_in_commit_order ON events (tenant_id, txn, event_id);

-- Transaction ids count per PostgreSQL cluster. Events restored into another cluster
-- (pg_dump and restore, logical replication) keep the old cluster's ids, which the new one's
-- do not continue, so new events could sort before them. The cluster the stored ids come
-- from is kept here (its system identifier; 0 until known) and checked at start-up, which
-- moves the events of another cluster before every new one.
CREATE TABLE event_order (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    cluster   bigint NOT NULL
);
INSERT INTO event_order (cluster) VALUES (0);
