-- int_groups: a row per person with every group found, sorted, and the primary
-- group (the first of the person's groups in the configured order).
CREATE OR REPLACE TEMP TABLE int_groups AS
WITH found AS (
    SELECT id_number, list_sort(list(DISTINCT group_no)) AS groups
    FROM int_group_evidence GROUP BY id_number
)
SELECT f.id_number, f.groups,
       list_filter(p.primary_group_order, lambda g: list_contains(f.groups, g))[1] AS primary_group
FROM found f, params p;
