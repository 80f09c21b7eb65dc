-- stg_other_eligible: a row per accepted other_eligible (其他应参人员) row of the batch in
-- force on the build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_other_eligible AS
SELECT * FROM src_other_eligible WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'other_eligible');
