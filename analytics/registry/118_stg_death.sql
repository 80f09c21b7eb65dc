-- stg_death: a row per accepted death (死亡人员) row of every batch on or before the build
-- date (an event kind: they accumulate).
CREATE OR REPLACE TEMP TABLE stg_death AS
SELECT * FROM src_death WHERE in_force('death', as_of, (SELECT as_of FROM params));
