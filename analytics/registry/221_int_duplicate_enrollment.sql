-- int_duplicate_enrollment: more than one enrollment that is contributing or
-- drawing (two schemes or two regions), listed for clean-up; counted once in KPIs.
CREATE OR REPLACE TEMP TABLE int_duplicate_enrollment AS
SELECT s.id_number, e.active_enrollments,
       list(struct_pack(s.scheme, s.status, s.region_code, s.employer_uscc, s.start_date, s.grade,
                        s.base, s.source_file, s.row_number)
            ORDER BY s.scheme, s.region_code, s.status) AS enrollments
FROM stg_pension_enrollment s JOIN int_enrollment_by_person e USING (id_number)
WHERE e.active_enrollments > 1
GROUP BY s.id_number, e.active_enrollments;
