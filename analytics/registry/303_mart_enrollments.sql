-- mart_enrollments: the pension enrollment rows imported for this date, as a
-- person card lists them (a card of date d reads every date's rows up to d).
CREATE OR REPLACE TEMP TABLE mart_enrollments AS
SELECT id_number, as_of, scheme, status, region_code, start_date, grade, base, employer_uscc,
       source_file, row_number
FROM src_pension_enrollment WHERE as_of = (SELECT as_of FROM params);
