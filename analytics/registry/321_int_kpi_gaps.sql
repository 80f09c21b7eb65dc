-- int_kpi_gaps: a row per area and configured goal year with the gaps to the goal
-- in people, exact in decimals: ceil(goal × base − achieved), 0 when met. The
-- coverage gap counts people to insure among the legal population; the structure
-- gap the upgrades needed with the number of contributors unchanged.
CREATE OR REPLACE TEMP TABLE int_kpi_gaps AS
SELECT
    k.level, k.code, g.year,
    greatest(0, ceil(g.coverage * k.legal_population - k.insured))::BIGINT AS coverage_gap,
    greatest(0, ceil(g.structure * k.contributors - k.employee_contributors))::BIGINT AS structure_gap
FROM int_kpi_counts k CROSS JOIN goals g;
