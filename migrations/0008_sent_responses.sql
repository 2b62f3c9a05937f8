-- Response rules (issue 20): what ingest answered a capture whose path has
-- rules (the rule, status, headers, body), as JSON. NULL: the path had no
-- rules, or the row predates this migration.
ALTER TABLE captures ADD COLUMN response TEXT;
