-- stg_hukou: a row per accepted hukou (户籍) row of the batch in force on the build date
-- (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_hukou AS
SELECT * FROM src_hukou WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'hukou');
