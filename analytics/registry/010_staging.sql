-- Staging: one table per department kind holding the rows in force on the build
-- date. State kinds come from the newest batch on or before it that carries the
-- kind; death and survey are events and accumulate over every batch up to it.
CREATE OR REPLACE TEMP TABLE stg_hukou AS SELECT * FROM src_hukou WHERE as_of = in_force('hukou');
CREATE OR REPLACE TEMP TABLE stg_residence AS SELECT * FROM src_residence WHERE as_of = in_force('residence');
CREATE OR REPLACE TEMP TABLE stg_pension_enrollment AS SELECT * FROM src_pension_enrollment WHERE as_of = in_force('pension_enrollment');
CREATE OR REPLACE TEMP TABLE stg_market_entity AS SELECT * FROM src_market_entity WHERE as_of = in_force('market_entity');
CREATE OR REPLACE TEMP TABLE stg_taxpayer AS SELECT * FROM src_taxpayer WHERE as_of = in_force('taxpayer');
CREATE OR REPLACE TEMP TABLE stg_student AS SELECT * FROM src_student WHERE as_of = in_force('student');
CREATE OR REPLACE TEMP TABLE stg_inmate AS SELECT * FROM src_inmate WHERE as_of = in_force('inmate');
CREATE OR REPLACE TEMP TABLE stg_dibao AS SELECT * FROM src_dibao WHERE as_of = in_force('dibao');
CREATE OR REPLACE TEMP TABLE stg_tekun AS SELECT * FROM src_tekun WHERE as_of = in_force('tekun');
CREATE OR REPLACE TEMP TABLE stg_fanpin AS SELECT * FROM src_fanpin WHERE as_of = in_force('fanpin');
CREATE OR REPLACE TEMP TABLE stg_disability AS SELECT * FROM src_disability WHERE as_of = in_force('disability');
CREATE OR REPLACE TEMP TABLE stg_landless AS SELECT * FROM src_landless WHERE as_of = in_force('landless');
CREATE OR REPLACE TEMP TABLE stg_migrant_worker AS SELECT * FROM src_migrant_worker WHERE as_of = in_force('migrant_worker');
CREATE OR REPLACE TEMP TABLE stg_platform_worker AS SELECT * FROM src_platform_worker WHERE as_of = in_force('platform_worker');
CREATE OR REPLACE TEMP TABLE stg_licensed_professional AS SELECT * FROM src_licensed_professional WHERE as_of = in_force('licensed_professional');
CREATE OR REPLACE TEMP TABLE stg_income_assets AS SELECT * FROM src_income_assets WHERE as_of = in_force('income_assets');
CREATE OR REPLACE TEMP TABLE stg_other_eligible AS SELECT * FROM src_other_eligible WHERE as_of = in_force('other_eligible');
CREATE OR REPLACE TEMP TABLE stg_division AS SELECT * FROM src_division WHERE as_of = in_force('division');

-- Events: a later import for the same date already replaced the earlier one.
CREATE OR REPLACE TEMP TABLE stg_death AS
SELECT id_number, min(death_date) AS death_date, list(DISTINCT source_file ORDER BY source_file) AS source_files
FROM src_death, params p WHERE src_death.as_of <= p.as_of GROUP BY id_number;

CREATE OR REPLACE TEMP TABLE stg_survey AS
SELECT s.* FROM survey_rows s, params p WHERE s.as_of <= p.as_of
QUALIFY row_number() OVER (PARTITION BY s.id_number, s.survey_date ORDER BY s.as_of DESC) = 1;

-- The newest imported boundaries (names of areas missing from the division data).
CREATE OR REPLACE TEMP TABLE stg_boundaries AS
SELECT code, name, level FROM boundaries
WHERE import_seq = (SELECT max(import_seq) FROM boundaries);
