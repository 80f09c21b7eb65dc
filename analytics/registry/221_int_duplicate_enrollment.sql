-- int_duplicate_enrollment: more than one enrollment that is contributing or
-- drawing (two schemes or two regions), listed for clean-up; counted once in KPIs.
CREATE OR REPLACE TEMP TABLE int_duplicate_enrollment AS
SELECT e.id_number, e.active_enrollments, e.enrollments
FROM int_enrollment_by_person e
WHERE e.active_enrollments > 1;
