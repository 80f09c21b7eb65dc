-- int_kpi_counts: a row per area (int_areas) with its name and head counts: legal
-- population, insured, contributors, employee contributors, targets by type and
-- target businesses. Each person counts once at each level: the city, their
-- street, their community.
CREATE OR REPLACE TEMP TABLE int_kpi_counts AS
WITH by_level AS (
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
)
SELECT
    n.level, n.code, n.name,
    coalesce(c.legal_population, 0) AS legal_population,
    coalesce(c.insured, 0) AS insured,
    coalesce(c.contributors, 0) AS contributors,
    coalesce(c.employee_contributors, 0) AS employee_contributors,
    coalesce(c.population, 0) AS population,
    coalesce(c.targets_enroll, 0) AS targets_enroll,
    coalesce(c.targets_upgrade, 0) AS targets_upgrade,
    coalesce(c.targets_resume, 0) AS targets_resume,
    coalesce(ec.target_entities, 0) AS target_entities
FROM named n
LEFT JOIN counts c USING (level, code)
LEFT JOIN entity_counts ec USING (level, code);
