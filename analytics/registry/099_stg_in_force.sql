-- stg_in_force: a row per (kind, as-of date) of the batches a registry for the build
-- date reads, by the macro in_force (the one rule). The staging steps of the state
-- kinds read their batch through it as a semi-join: DuckDB then skips the row
-- groups of other dates, where the macro, evaluated row by row, read every
-- imported date of the kind (a third of the staging time at 120k).
CREATE OR REPLACE TEMP TABLE stg_in_force AS
SELECT DISTINCT files.kind, files.as_of FROM import_files files
WHERE in_force(files.kind, files.as_of, (SELECT as_of FROM params));
