-- stg_disability: a row per accepted disability (残疾人) row of the batch in force on the
-- build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_disability AS
SELECT * FROM src_disability WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'disability');
