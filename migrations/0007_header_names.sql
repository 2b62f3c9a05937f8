-- Headers exactly as on the wire (issue 14): `headers` keeps the lines in
-- wire order with lower-cased names (what header search and its index
-- match), and `header_names` the names in the case sent, one per line, as a
-- JSON array. NULL: the capture's headers are grouped (HTTP/2, a head the
-- recorder could not follow, rows stored before this migration).
ALTER TABLE captures ADD COLUMN header_names TEXT;
