-- stg_student: a row per accepted student (在校生) row of the batch in force on the build
-- date (the newest on or before it that carries the kind).
CREATE OR REPLACE TEMP TABLE stg_student AS
SELECT * FROM src_student WHERE as_of IN (SELECT as_of FROM stg_in_force WHERE kind = 'student');
