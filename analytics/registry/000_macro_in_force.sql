-- Macro in_force(kind, batch_as_of, d): whether the rows a batch of `kind` dated
-- `batch_as_of` carries are read by a registry for date `d` (settled reading):
-- for a state kind the newest imported batch on or before d that carries the
-- kind; for an event kind (Kind.event in sources.toml, listed in the temp table
-- `event_kinds`) every batch on or before d. The build's staging steps and the
-- problems export both read batches through this one macro. The inner alias is
-- unusual because macros expand textually: a caller's `import_files f` would
-- capture `f.kind` (in_force(f.kind, ...) then compared every kind).
CREATE OR REPLACE TEMP MACRO in_force(k, batch_as_of, d) AS (
    CASE WHEN k IN (SELECT kind FROM event_kinds) THEN batch_as_of <= d
         ELSE batch_as_of = (SELECT max(_in_force_f.as_of) FROM import_files _in_force_f
                             WHERE _in_force_f.kind = k AND _in_force_f.as_of <= d)
    END
);
