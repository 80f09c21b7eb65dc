-- Helpers shared by the steps. `params` (one row: as_of, region, thresholds) and
-- `goals` (year, coverage, structure) are filled by the runner with bound values.

-- The as-of date of the batch in force for a state kind: the newest imported
-- date on or before the build date that carries the kind (settled reading).
CREATE OR REPLACE TEMP MACRO in_force(k) AS (
    SELECT max(f.as_of) FROM import_files f, params p WHERE f.kind = k AND f.as_of <= p.as_of
);

-- Age in whole years on a date: born on the same month and day 16 years
-- earlier is 16; a 29 February birthday falls on 1 March in common years.
CREATE OR REPLACE TEMP MACRO age_on(birth, d) AS (
    year(d) - year(birth)
    - CASE WHEN month(d) < month(birth) OR (month(d) = month(birth) AND day(d) < day(birth))
           THEN 1 ELSE 0 END
);
