-- stg_fanpin: a row per accepted fanpin (防返贫监测) row of the batch in force on the build
-- date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_fanpin AS
SELECT * FROM src_fanpin WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'fanpin');
