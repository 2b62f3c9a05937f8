-- Signing profiles (issue 16), as in migrations/0005_signatures.sql. The profile holds a secret, so it lives in a
-- column of its own, apart from `settings` (which the path registry carries
-- to every ingest over the bus). NULL: no profile.
ALTER TABLE paths ADD COLUMN signing TEXT;
-- The profile forwards to `forward_url` are re-signed with, kept the same way.
ALTER TABLE paths ADD COLUMN forward_signing TEXT;

-- The verdict the writer gave each capture of a path with a profile
-- ('valid', 'invalid', 'stale', 'missing'); NULL when there was none.
ALTER TABLE captures ADD COLUMN signature TEXT;
CREATE INDEX captures_path_id_signature ON captures (path_id, signature, id)
    WHERE signature IS NOT NULL;
