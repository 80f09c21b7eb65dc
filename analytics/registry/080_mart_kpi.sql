-- mart_kpi: a row per area (the city, every street and community known from the
-- division data or the boundaries, and any other code where a person of the
-- population lives) with the two KPIs and the gaps to each goal in people.
CREATE OR REPLACE TEMP TABLE int_areas AS
SELECT DISTINCT level, code FROM (
    SELECT 'city' AS level, region AS code FROM params
    UNION ALL SELECT 'street', code FROM stg_division WHERE length(code) = 9
    UNION ALL SELECT 'community', code FROM stg_division WHERE length(code) = 12
    UNION ALL SELECT 'street', code FROM stg_boundaries WHERE length(code) = 9
    UNION ALL SELECT 'community', code FROM stg_boundaries WHERE length(code) = 12
    UNION ALL SELECT 'street', street_code FROM int_population
    UNION ALL SELECT 'community', community_code FROM int_population
);

CREATE OR REPLACE TEMP TABLE mart_kpi AS
WITH by_level AS (
    -- Each person counts once at each level: the city, their street, their community.
    SELECT u.level, u.code, p.*
    FROM mart_persons p, params pr,
         LATERAL (VALUES ('city', pr.region), ('street', p.street_code),
                         ('community', p.community_code)) u(level, code)
),
counts AS (
    SELECT level, code,
        count(*) FILTER (WHERE legal) AS legal_population,
        count(*) FILTER (WHERE legal AND insured) AS insured,
        count(*) FILTER (WHERE legal AND contributing) AS contributors,
        count(*) FILTER (WHERE legal AND employee_contributor) AS employee_contributors,
        count(*) FILTER (WHERE target_type = 'enroll') AS targets_enroll,
        count(*) FILTER (WHERE target_type = 'upgrade') AS targets_upgrade,
        count(*) FILTER (WHERE target_type = 'resume') AS targets_resume,
        count(*) AS population
    FROM by_level GROUP BY level, code
),
entity_counts AS (
    SELECT u.level, u.code, count(*) AS target_entities
    FROM mart_entities e, params pr,
         LATERAL (VALUES ('city', pr.region), ('street', e.street_code),
                         ('community', e.community_code)) u(level, code)
    WHERE u.code IS NOT NULL GROUP BY ALL
),
named AS (
    SELECT a.level, a.code,
           coalesce((SELECT any_value(d.name) FROM stg_division d WHERE d.code = a.code),
                    (SELECT any_value(b.name) FROM stg_boundaries b WHERE b.code = a.code),
                    '') AS name
    FROM int_areas a
),
g AS (
    SELECT
        max(coverage) FILTER (WHERE year = 2025) AS cov25, max(structure) FILTER (WHERE year = 2025) AS str25,
        max(coverage) FILTER (WHERE year = 2035) AS cov35, max(structure) FILTER (WHERE year = 2035) AS str35
    FROM goals
)
SELECT
    n.level, n.code, n.name,
    coalesce(c.legal_population, 0) AS legal_population,
    coalesce(c.insured, 0) AS insured,
    CASE WHEN c.legal_population > 0 THEN c.insured / c.legal_population END AS coverage_rate,
    coalesce(c.contributors, 0) AS contributors,
    coalesce(c.employee_contributors, 0) AS employee_contributors,
    CASE WHEN c.contributors > 0 THEN c.employee_contributors / c.contributors END AS structure_ratio,
    -- Gaps in people, exact in decimals: ceil(goal × base − achieved), 0 when met.
    greatest(0, ceil(g.cov25 * coalesce(c.legal_population, 0) - coalesce(c.insured, 0)))::BIGINT AS coverage_gap_2025,
    greatest(0, ceil(g.str25 * coalesce(c.contributors, 0) - coalesce(c.employee_contributors, 0)))::BIGINT AS structure_gap_2025,
    greatest(0, ceil(g.cov35 * coalesce(c.legal_population, 0) - coalesce(c.insured, 0)))::BIGINT AS coverage_gap_2035,
    greatest(0, ceil(g.str35 * coalesce(c.contributors, 0) - coalesce(c.employee_contributors, 0)))::BIGINT AS structure_gap_2035,
    coalesce(c.population, 0) AS population,
    coalesce(c.targets_enroll, 0) AS targets_enroll,
    coalesce(c.targets_upgrade, 0) AS targets_upgrade,
    coalesce(c.targets_resume, 0) AS targets_resume,
    coalesce(ec.target_entities, 0) AS target_entities
FROM named n
CROSS JOIN g
LEFT JOIN counts c USING (level, code)
LEFT JOIN entity_counts ec USING (level, code);
