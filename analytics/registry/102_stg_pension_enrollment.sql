-- stg_pension_enrollment: a row per accepted pension_enrollment (养老保险参保) row of the
-- batch in force on the build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_pension_enrollment AS
SELECT * FROM src_pension_enrollment WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'pension_enrollment');
