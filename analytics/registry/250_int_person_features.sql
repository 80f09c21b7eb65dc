-- int_person_features: a row per person of the region with the evidence values
-- the ranking reads (income, platform work, tenure, business, grade), as they
-- stand on the build date. Only data on or before the build date is used.
CREATE OR REPLACE TEMP TABLE int_person_features AS
WITH income AS (
    SELECT id_number, max(annual_income) AS annual_income, max(properties) AS properties,
           max(vehicles) AS vehicles
    FROM stg_income_assets GROUP BY id_number
),
platform AS (
    SELECT id_number, max(monthly_income) AS platform_income,
           min(start_date) AS platform_start, count(*) AS platform_jobs
    FROM stg_platform_worker GROUP BY id_number
),
migrant AS (
    SELECT id_number, max(monthly_income) AS migrant_income, min(employment_start) AS migrant_start
    FROM stg_migrant_worker GROUP BY id_number
),
business AS (
    SELECT m.operator_id_number AS id_number, count(*) AS live_entities,
           max(coalesce(m.employees, t.employees)) AS entity_employees,
           max(t.annual_revenue) AS entity_revenue
    FROM stg_market_entity m LEFT JOIN stg_taxpayer t USING (uscc)
    WHERE coalesce(m.status, '') NOT IN ('注销', '吊销')
    GROUP BY m.operator_id_number
)
SELECT
    p.id_number,
    -- 村 (village) committees are numbered 200-399 in statistical division codes.
    substr(p.community_code, 10, 3) < '200' AS urban,
    i.annual_income, i.properties, i.vehicles,
    pl.platform_income, pl.platform_jobs,
    date_diff('month', pl.platform_start, pr.as_of) AS platform_months,
    mi.migrant_income,
    date_diff('month', mi.migrant_start, pr.as_of) AS migrant_months,
    b.live_entities, b.entity_employees, b.entity_revenue
FROM int_population p
CROSS JOIN params pr
LEFT JOIN income i USING (id_number)
LEFT JOIN platform pl USING (id_number)
LEFT JOIN migrant mi USING (id_number)
LEFT JOIN business b USING (id_number);
