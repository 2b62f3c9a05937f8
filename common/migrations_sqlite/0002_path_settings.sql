-- Per-path settings (custom response, retention, private read token) as JSON.
ALTER TABLE paths ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
