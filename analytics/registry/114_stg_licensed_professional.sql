-- stg_licensed_professional: a row per accepted licensed_professional (执业资格) row of
-- the batch in force on the build date (the newest on or before it that carries the
-- kind).
CREATE OR REPLACE TEMP TABLE stg_licensed_professional AS
SELECT * FROM src_licensed_professional WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'licensed_professional');
