-- stg_division: a row per accepted division (行政区划) row of the batch in force on the
-- build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_division AS
SELECT * FROM src_division WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'division');
