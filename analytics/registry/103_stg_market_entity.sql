-- stg_market_entity: a row per accepted market_entity (市场主体) row of the batch in force
-- on the build date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_market_entity AS
SELECT * FROM src_market_entity WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'market_entity');
