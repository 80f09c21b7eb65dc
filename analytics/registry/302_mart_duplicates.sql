-- mart_duplicates: duplicate enrollments (重复参保) of the region's people, for clean-up.
CREATE OR REPLACE TEMP TABLE mart_duplicates AS
SELECT d.id_number, p.name, p.street_code, p.community_code, d.active_enrollments, d.enrollments
FROM int_duplicate_enrollment d JOIN int_population p USING (id_number);
