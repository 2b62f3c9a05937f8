-- Headers exactly as on the wire: see migrations/0007_header_names.sql of
-- the Postgres store.
ALTER TABLE captures ADD COLUMN header_names TEXT;
