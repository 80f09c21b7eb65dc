-- stg_survey: a row per accepted survey (入户调查) row of every batch on or before the
-- build date (an event kind: they accumulate), and per visit recorded in the app
-- against such a date (survey_rows: analytics.store.attach_visits).
CREATE OR REPLACE TEMP TABLE stg_survey AS
SELECT * FROM survey_rows WHERE in_force('survey', as_of, (SELECT as_of FROM params));
