-- stg_landless: a row per accepted landless (被征地农民) row of the batch in force on the
-- build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_landless AS
SELECT * FROM src_landless WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'landless');
