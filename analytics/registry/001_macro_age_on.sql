-- Macro age_on(birth, d): age in whole years on a date. Born on the same month
-- and day 16 years earlier is 16; a 29 February birthday falls on 1 March in
-- common years.
CREATE OR REPLACE TEMP MACRO age_on(birth, d) AS (
    year(d) - year(birth)
    - CASE WHEN month(d) < month(birth) OR (month(d) = month(birth) AND day(d) < day(birth))
           THEN 1 ELSE 0 END
);
