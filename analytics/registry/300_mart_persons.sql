-- mart_persons: a row per person of the region on the build date: where they
-- live, whether they are in the legal population (and why not), their
-- enrollment, groups, survey and target type; the address texts of 户籍 and
-- 居住证 come last (columns added later go at the end).
CREATE OR REPLACE TEMP TABLE mart_persons AS
WITH joined AS (
    SELECT
        pop.*,
        len(pop.exclusions) = 0 AS legal,
        coalesce(e.insured, false) AS insured,
        coalesce(e.contributing, false) AS contributing,
        coalesce(e.employee_contributor, false) AS employee_contributor,
        coalesce(e.residents_contributor, false) AS residents_contributor,
        coalesce(e.drawing, false) AS drawing,
        coalesce(e.suspended, false) AS suspended,
        coalesce(e.active_enrollments, 0) > 1 AS duplicate_enrollment,
        coalesce(e.insured_elsewhere, false) AS insured_elsewhere,
        e.residents_grade,
        e.employee_base,
        e.first_start_date,
        coalesce(g.groups, []::INTEGER[]) AS groups,
        g.primary_group,
        s.last_survey_date, s.survey_result, s.willingness, s.not_insured_reason,
        s.ability_to_pay, s.phone, s.surveyor, coalesce(s.visits, 0) AS visits,
        f.* EXCLUDE (id_number)
    FROM int_population pop
    LEFT JOIN int_enrollment_by_person e USING (id_number)
    LEFT JOIN int_groups g USING (id_number)
    LEFT JOIN int_survey_latest s USING (id_number)
    LEFT JOIN int_person_features f USING (id_number)
)
SELECT
    * EXCLUDE (hukou_address, residence_address),
    -- One type at most, tried in the order enroll, resume, upgrade. People drawing
    -- a pension are never targets; group 7 is never an upgrade target.
    CASE
        WHEN NOT legal THEN NULL
        WHEN NOT insured THEN 'enroll'
        WHEN suspended AND NOT contributing AND NOT drawing THEN 'resume'
        WHEN residents_contributor AND NOT employee_contributor AND NOT drawing
             AND list_has_any(groups, [1, 3, 4, 5, 6, 8]) AND NOT list_contains(groups, 7)
            THEN 'upgrade'
    END AS target_type,
    hukou_address,
    residence_address
FROM joined;
