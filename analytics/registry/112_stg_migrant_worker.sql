-- stg_migrant_worker: a row per accepted migrant_worker (转移就业) row of the batch in
-- force on the build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_migrant_worker AS
SELECT * FROM src_migrant_worker WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'migrant_worker');
