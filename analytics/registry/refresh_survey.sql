-- Refresh one person's survey attributes in a stored registry version after a
-- visit is recorded in the app, without a full build (the same reading as
-- 119_stg_survey.sql, 240_int_survey_visits.sql and 241_int_survey_latest.sql).
-- Parameters: $version, $as_of, $id. Scores change at the next full build.
CREATE OR REPLACE TEMP TABLE refresh_latest AS
WITH surveys AS (
    SELECT s.* FROM src_survey s
    WHERE s.id_number = $id AND s.as_of <= $as_of
    QUALIFY row_number() OVER (PARTITION BY s.survey_date ORDER BY s.as_of DESC) = 1
)
SELECT
    id_number, survey_date AS last_survey_date, result AS survey_result, willingness,
    reason AS not_insured_reason, ability_to_pay, phone, surveyor,
    count(*) OVER () AS visits
FROM surveys
QUALIFY row_number() OVER (ORDER BY survey_date DESC, as_of DESC, source_file, row_number) = 1;

UPDATE reg_persons p SET
    last_survey_date = r.last_survey_date, survey_result = r.survey_result,
    willingness = r.willingness, not_insured_reason = r.not_insured_reason,
    ability_to_pay = r.ability_to_pay, phone = r.phone, surveyor = r.surveyor, visits = r.visits
FROM refresh_latest r
WHERE p.version = $version AND p.id_number = r.id_number;

UPDATE reg_targets_ranked t SET
    last_survey_date = r.last_survey_date, survey_result = r.survey_result,
    willingness = r.willingness, not_insured_reason = r.not_insured_reason,
    ability_to_pay = r.ability_to_pay, phone = r.phone, surveyor = r.surveyor, visits = r.visits,
    claim_to_verify = r.survey_result IN ('已参保', '已在外地参保')
FROM refresh_latest r
WHERE t.version = $version AND t.id_number = r.id_number;
