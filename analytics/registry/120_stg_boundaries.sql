-- stg_boundaries: a row per street or community of the newest imported boundaries
-- (names of areas missing from the division data).
CREATE OR REPLACE TEMP TABLE stg_boundaries AS
SELECT code, name, level FROM boundaries
WHERE import_seq = (SELECT max(import_seq) FROM boundaries);
