-- stg_taxpayer: a row per accepted taxpayer (纳税主体) row of the batch in force on the
-- build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_taxpayer AS
SELECT * FROM src_taxpayer WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'taxpayer');
