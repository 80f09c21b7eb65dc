-- stg_tekun: a row per accepted tekun (特困) row of the batch in force on the build date
-- (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_tekun AS
SELECT * FROM src_tekun WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'tekun');
