-- stg_inmate: a row per accepted inmate (服刑人员) row of the batch in force on the build
-- date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_inmate AS
SELECT * FROM src_inmate WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'inmate');
