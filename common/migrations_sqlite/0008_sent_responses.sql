-- What ingest answered: see migrations/0008_sent_responses.sql of the
-- Postgres store.
ALTER TABLE captures ADD COLUMN response TEXT;
