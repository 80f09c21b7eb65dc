-- int_group_evidence: a row per piece of evidence that a person belongs to one of
-- the eight priority groups (八类重点群体), with the source kind, file and row.
-- Rules and thresholds: shared/domain.md "Exact evidence rules", via params.
CREATE OR REPLACE TEMP TABLE int_group_evidence AS
-- 1: operator of a live market entity whose taxpayer record is 正常.
SELECT m.operator_id_number AS id_number, 1 AS group_no, 'market_entity' AS kind,
       m.source_file, m.row_number,
       concat_ws(' ', m.entity_type, m.entity_name, '纳税' || t.tax_status) AS detail
FROM stg_market_entity m JOIN stg_taxpayer t USING (uscc)
WHERE coalesce(m.status, '') NOT IN ('注销', '吊销') AND t.tax_status = '正常'
UNION ALL
-- 2: land-expropriated farmers; village/community cadres and village doctors.
SELECT id_number, 2, 'landless', source_file, row_number,
       '被征地农民' || coalesce(' 征地时间' || strftime(expropriation_date, '%Y-%m-%d'), '')
FROM stg_landless
UNION ALL
SELECT o.id_number, 2, 'other_eligible', o.source_file, o.row_number, o.category
FROM stg_other_eligible o, params p WHERE list_contains(p.subsidy_categories, o.category)
UNION ALL
-- 3: transferred rural labour in stable employment for at least N months.
SELECT w.id_number, 3, 'migrant_worker', w.source_file, w.row_number,
       concat_ws(' ', '转移就业', w.employment_type, '自' || strftime(w.employment_start, '%Y-%m'),
                 CASE WHEN w.monthly_income IS NOT NULL THEN '月收入' || round(w.monthly_income)::BIGINT || '元' END)
FROM stg_migrant_worker w, params p
WHERE w.employment_start + to_months(p.stable_months) <= p.as_of
UNION ALL
-- 4: platform workers in one of the listed occupations.
SELECT w.id_number, 4, 'platform_worker', w.source_file, w.row_number,
       concat_ws(' ', w.occupation, w.platform,
                 CASE WHEN w.monthly_income IS NOT NULL THEN '月均收入' || round(w.monthly_income)::BIGINT || '元' END)
FROM stg_platform_worker w, params p WHERE list_contains(p.platform_occupations, w.occupation)
UNION ALL
-- 5: licensed professionals practising freelance, as individuals or part-time.
SELECT l.id_number, 5, 'licensed_professional', l.source_file, l.row_number,
       concat_ws(' ', l.profession, l.practice_type)
FROM stg_licensed_professional l, params p
WHERE list_contains(p.freelance_practice_types, l.practice_type)
UNION ALL
-- 6: residents whose annual income shows they can pay employee contributions.
SELECT a.id_number, 6, 'income_assets', a.source_file, a.row_number,
       '年收入' || round(a.annual_income)::BIGINT || '元'
FROM stg_income_assets a, params p WHERE a.annual_income >= p.income_threshold
UNION ALL
-- 7: people with difficulty paying (the government pays their residents' contribution).
SELECT id_number, 7, 'dibao', source_file, row_number, concat_ws(' ', '低保', category) FROM stg_dibao
UNION ALL
SELECT id_number, 7, 'tekun', source_file, row_number, '特困人员' FROM stg_tekun
UNION ALL
SELECT id_number, 7, 'fanpin', source_file, row_number, concat_ws(' ', '防返贫监测', monitor_type) FROM stg_fanpin
UNION ALL
SELECT d.id_number, 7, 'disability', d.source_file, d.row_number,
       concat_ws(' ', '残疾', d.disability_level, d.disability_type)
FROM stg_disability d, params p WHERE list_contains(p.severe_disability_levels, d.disability_level)
UNION ALL
-- 8: grassroots-programme graduates, private-school staff, non-establishment staff.
SELECT o.id_number, 8, 'other_eligible', o.source_file, o.row_number, o.category
FROM stg_other_eligible o, params p WHERE list_contains(p.other_categories, o.category);
