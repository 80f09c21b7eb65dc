-- int_survey_visits: a row per visit (入户调查: person and survey date) up to the
-- build date, as the newest batch that reports it says.
CREATE OR REPLACE TEMP TABLE int_survey_visits AS
SELECT * FROM stg_survey
QUALIFY row_number() OVER (PARTITION BY id_number, survey_date ORDER BY as_of DESC) = 1;
