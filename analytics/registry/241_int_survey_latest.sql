-- int_survey_latest: a row per surveyed person: the latest visit result (入户调查)
-- and the number of visits so far. Surveys never change who is insured or a
-- target; they are attributes of the target.
CREATE OR REPLACE TEMP TABLE int_survey_latest AS
SELECT
    id_number, survey_date AS last_survey_date, result AS survey_result, willingness,
    reason AS not_insured_reason, ability_to_pay, phone, surveyor,
    count(*) OVER (PARTITION BY id_number) AS visits
FROM int_survey_visits
QUALIFY row_number() OVER (PARTITION BY id_number
                           ORDER BY survey_date DESC, as_of DESC, source_file, row_number) = 1;
