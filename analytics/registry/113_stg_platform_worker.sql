-- stg_platform_worker: a row per accepted platform_worker (新就业形态) row of the batch in
-- force on the build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_platform_worker AS
SELECT * FROM src_platform_worker WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'platform_worker');
