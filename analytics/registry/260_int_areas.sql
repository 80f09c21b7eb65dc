-- int_areas: a row per area the KPIs are reported for (level, code): the city, every
-- street and community known from the division data or the boundaries, and any
-- other code where a person of the population lives.
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
