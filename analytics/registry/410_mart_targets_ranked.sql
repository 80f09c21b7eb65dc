-- mart_targets_ranked: the targets with their scores (from int_scores, written by
-- the score step), ranked 1..N over the region, highest score first and equal
-- scores in order of id_number (settled reading).
CREATE OR REPLACE TEMP TABLE mart_targets_ranked AS
SELECT
    t.*,
    s.score,
    row_number() OVER (ORDER BY s.score DESC, t.id_number) AS rank,
    s.reasons,
    s.action,
    s.action_rule,
    s.uplift,
    s.model
FROM int_targets t JOIN int_scores s USING (id_number);
