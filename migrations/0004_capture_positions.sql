-- Positions in commit order (issue 15). Every capture gets a position when
-- its batch commits; `insert_batch` assigns them under a transaction-scoped
-- advisory lock that serialises batch commits, so positions grow in commit
-- order and seeing position P committed means every lower one is committed
-- too. Live feeds resume from a position, which every query process sees in
-- the same order, instead of from an id (ingest clocks interleave).
ALTER TABLE captures ADD COLUMN position BIGINT;

-- Existing rows: positions in id order (they are all committed).
UPDATE captures AS c SET position = r.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM captures) AS r
WHERE c.id = r.id;

ALTER TABLE captures ALTER COLUMN position SET NOT NULL;
CREATE UNIQUE INDEX captures_position ON captures (position);
-- One path's feed catches up by position without scanning other paths.
CREATE INDEX captures_path_id_position ON captures (path_id, position);

-- The last position ever assigned. Not max(position): deleting the newest
-- captures (clear, path delete, retention) must never let a position be
-- handed out twice, or a feed that already passed it would skip the new one.
CREATE TABLE capture_head (
    id   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    last BIGINT NOT NULL
);
INSERT INTO capture_head (id, last) SELECT TRUE, COALESCE(max(position), 0) FROM captures;
