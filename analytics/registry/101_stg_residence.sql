-- stg_residence: a row per accepted residence (居住证) row of the batch in force on the
-- build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_residence AS
SELECT * FROM src_residence WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'residence');
