-- mart_kpi: a row per area (int_areas) with the two KPIs (rates exact, empty over
-- an empty base) and the gaps to the contract's goal years 2025 and 2035, the
-- export's fixed columns. The gaps of any other configured goal year are added
-- after these columns by the build's Python step `other_goal_years`.
CREATE OR REPLACE TEMP TABLE mart_kpi AS
SELECT
    k.level, k.code, k.name,
    k.legal_population,
    k.insured,
    CASE WHEN k.legal_population > 0 THEN k.insured / k.legal_population END AS coverage_rate,
    k.contributors,
    k.employee_contributors,
    CASE WHEN k.contributors > 0 THEN k.employee_contributors / k.contributors END AS structure_ratio,
    g25.coverage_gap AS coverage_gap_2025,
    g25.structure_gap AS structure_gap_2025,
    g35.coverage_gap AS coverage_gap_2035,
    g35.structure_gap AS structure_gap_2035,
    k.population,
    k.targets_enroll,
    k.targets_upgrade,
    k.targets_resume,
    k.target_entities
FROM int_kpi_counts k
LEFT JOIN int_kpi_gaps g25
    ON g25.level = k.level AND g25.code IS NOT DISTINCT FROM k.code AND g25.year = 2025
LEFT JOIN int_kpi_gaps g35
    ON g35.level = k.level AND g35.code IS NOT DISTINCT FROM k.code AND g35.year = 2035;
