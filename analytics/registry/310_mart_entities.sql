-- mart_entities: business targets (未参保市场主体): live market entities, tax status
-- 正常, with no employee-scheme contributor anywhere naming their credit code.
CREATE OR REPLACE TEMP TABLE mart_entities AS
SELECT
    m.uscc, m.entity_name,
    CASE WHEN m.address_code IS NOT NULL THEN substr(m.address_code, 1, 9) END AS street_code,
    m.address_code AS community_code,
    t.tax_status,
    CAST(coalesce(m.employees, t.employees) AS BIGINT) AS employees,
    '无职工参保' AS reason,
    m.entity_type, m.operator_id_number, m.status AS registration_status, m.established_date,
    t.annual_revenue
FROM stg_market_entity m JOIN stg_taxpayer t USING (uscc)
WHERE coalesce(m.status, '') NOT IN ('注销', '吊销') AND t.tax_status = '正常'
  AND NOT EXISTS (
      SELECT 1 FROM stg_pension_enrollment e
      WHERE e.employer_uscc = m.uscc AND e.status = '参保缴费'
        AND e.scheme IN ('企业职工基本养老保险', '机关事业单位基本养老保险'));
