-- Positions in commit order (issue 15): see migrations/0004_capture_positions.sql
-- of the Postgres store. SQLite has one writer at a time, and insert_batch
-- assigns positions inside its (immediate) write transaction.
ALTER TABLE captures ADD COLUMN position INTEGER;

-- Existing rows: positions in id order (they are all committed).
UPDATE captures SET position = r.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM captures) AS r
WHERE captures.id = r.id;

CREATE UNIQUE INDEX captures_position ON captures (position);
CREATE INDEX captures_path_id_position ON captures (path_id, position);

-- The last position ever assigned; never max(position), so a deleted newest
-- capture's position is never handed out again.
CREATE TABLE capture_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO capture_head (id, last) SELECT 1, COALESCE(max(position), 0) FROM captures;

-- insert_batch reads the head inside its INSERT; this moves it as each row
-- goes in, in the same statement, so one statement is a whole commit.
CREATE TRIGGER captures_advance_head AFTER INSERT ON captures
WHEN NEW.position IS NOT NULL
BEGIN
    UPDATE capture_head SET last = NEW.position WHERE NEW.position > last;
END;
