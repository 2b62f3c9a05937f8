-- Per-path settings (custom response, retention, private read token) as JSON.
ALTER TABLE paths ADD COLUMN settings JSONB NOT NULL DEFAULT '{}';

-- Body search: a trigram index over the lower-cased first 64 KiB of each body
-- (bytes that are not text are escaped), so `q=` is an index lookup rather
-- than a scan of every body. pg_trgm is a trusted extension (PostgreSQL 13+).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX captures_body_trgm ON captures
    USING gin (lower(encode(substring(body FROM 1 FOR 65536), 'escape')) gin_trgm_ops);

-- Header search: containment of a [name, value] pair.
CREATE INDEX captures_headers ON captures USING gin (headers jsonb_path_ops);
