-- int_death: a row per person reported dead in any batch up to the build date,
-- with the earliest death date given and the files that say so. A person in
-- `death` is dead whatever death_date says (settled reading).
CREATE OR REPLACE TEMP TABLE int_death AS
SELECT id_number, min(death_date) AS death_date,
       list(DISTINCT source_file ORDER BY source_file) AS source_files
FROM stg_death GROUP BY id_number;
