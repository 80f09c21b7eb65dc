-- int_targets (before scoring): a row per person target of the legal population,
-- with the features the ranking reads. Scores, ranks, reasons and actions are
-- added by the score step (analytics/ranking/score.py) and 410_mart_targets_ranked.sql.
CREATE OR REPLACE TEMP TABLE int_targets AS
SELECT
    id_number, name, gender, birth_date, age, street_code, community_code, target_type,
    groups, array_to_string(groups, ';') AS groups_text, primary_group,
    in_hukou, in_residence, insured_elsewhere, residents_grade, employee_base, first_start_date,
    last_survey_date, survey_result, willingness, not_insured_reason, ability_to_pay, phone,
    surveyor, visits,
    -- 已参保 / 已在外地参保 claims are listed for checking, never believed.
    survey_result IN ('已参保', '已在外地参保') AS claim_to_verify
FROM mart_persons
WHERE target_type IS NOT NULL;
