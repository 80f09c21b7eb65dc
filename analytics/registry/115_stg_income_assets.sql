-- stg_income_assets: a row per accepted income_assets (收入资产) row of the batch in force
-- on the build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_income_assets AS
SELECT * FROM src_income_assets WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'income_assets');
