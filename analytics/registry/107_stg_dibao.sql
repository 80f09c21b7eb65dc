-- stg_dibao: a row per accepted dibao (低保) row of the batch in force on the build date
-- (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_dibao AS
SELECT * FROM src_dibao WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'dibao');
