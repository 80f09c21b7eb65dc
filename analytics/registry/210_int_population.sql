-- int_population: a row per person of the region (valid ID in 户籍 or 居住证 with an
-- address code in the region), with street and community, age and exclusions.
-- Street and community come from 户籍, else from 居住证; each file's address text is
-- kept as it came (the visit list and the person card show where to find someone).
CREATE OR REPLACE TEMP TABLE int_population AS
WITH people AS (
    SELECT
        coalesce(h.id_number, r.id_number) AS id_number,
        coalesce(h.name, r.name) AS name,
        coalesce(h.address_code, r.address_code) AS address_code,
        h.id_number IS NOT NULL AS in_hukou,
        r.id_number IS NOT NULL AS in_residence,
        h.status AS hukou_status,
        h.address AS hukou_address,
        r.address AS residence_address
    FROM stg_hukou h FULL OUTER JOIN stg_residence r USING (id_number)
)
SELECT
    pe.id_number,
    pe.name,
    CASE WHEN substr(pe.id_number, 17, 1)::INTEGER % 2 = 1 THEN '男' ELSE '女' END AS gender,
    make_date(substr(pe.id_number, 7, 4)::INTEGER, substr(pe.id_number, 11, 2)::INTEGER,
              substr(pe.id_number, 13, 2)::INTEGER) AS birth_date,
    age_on(birth_date, p.as_of) AS age,
    substr(pe.address_code, 1, 9) AS street_code,
    pe.address_code AS community_code,
    pe.in_hukou,
    pe.in_residence,
    pe.hukou_status,
    list_filter([
        CASE WHEN age_on(birth_date, p.as_of) < 16 THEN 'under_16' END,
        CASE WHEN d.id_number IS NOT NULL OR pe.hukou_status = '死亡' THEN 'dead' END,
        CASE WHEN pe.hukou_status = '迁出' THEN 'moved_out' END,
        CASE WHEN st.id_number IS NOT NULL THEN 'student' END,
        CASE WHEN i.id_number IS NOT NULL THEN 'inmate' END
    ], lambda x: x IS NOT NULL) AS exclusions,
    pe.hukou_address,
    pe.residence_address
FROM people pe
CROSS JOIN params p
LEFT JOIN int_death d USING (id_number)
LEFT JOIN (SELECT DISTINCT id_number FROM stg_student) st USING (id_number)
-- An inmate whose release date lies before the build date is no longer serving.
LEFT JOIN (SELECT DISTINCT id_number FROM stg_inmate, params p
           WHERE release_date IS NULL OR release_date >= p.as_of) i USING (id_number)
WHERE pe.address_code LIKE p.region || '%';
