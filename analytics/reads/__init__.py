"""Read functions for the dashboard (and anything else that shows the registry).
They never write: the app's writes are in :mod:`analytics.writes`, the import
and build workflow in :mod:`analytics.workflow`.

Every function opens a short-lived read-only connection (:func:`store.reading`),
and takes the registry ``version`` to read (the cache key of the app) and,
where people are returned, the viewer's :class:`~analytics.access.Scope`:

- rows about people are limited to the scope's grid inside the SQL;
- a leader's scope never gets names or ID numbers (:class:`AccessDenied`);
- ID numbers and phones come back twice: ``id_number``/``phone`` for the server
  side (forms, exports) and ``id_masked``/``phone_masked`` for the screen;
- visits recorded in the app since the build show at once: a person's visit
  attributes are read from the registry's survey rows and the app store's
  visits together (:func:`store.attach_visits`); scores follow at the next build.
"""

from __future__ import annotations

from analytics.published import in_use, pin
from analytics.reads.coverage import (
    COVERAGE_COLUMNS,
    coverage_totals,
    visit_coverage,
    visits_by_visitor,
    visits_stamp,
)
from analytics.reads.labels import (
    COLUMN_LABELS,
    EXCLUSIONS,
    GROUPS,
    REASON_LABELS,
    ROLE_LABELS,
    TARGET_TYPES,
    audit_text,
    cn_date,
    cn_time,
    field_label,
    group_label,
    groups_label,
    kind_label,
    problem_message,
)
from analytics.reads.people import (
    CLAIMS,
    SURVEY_COLUMNS,
    filter_targets,
    person_card,
    search_persons,
    targets,
)
from analytics.reads.quality import export_audit, import_log, problem_summary, problems, quality
from analytics.reads.registry import (
    KPI_COLUMNS,
    Status,
    areas,
    boundaries,
    goals,
    grid_kpi,
    grid_trend,
    kpi,
    kpi_trend,
    status,
)
from analytics.store import reading

__all__ = [
    "CLAIMS",
    "COLUMN_LABELS",
    "COVERAGE_COLUMNS",
    "EXCLUSIONS",
    "GROUPS",
    "KPI_COLUMNS",
    "REASON_LABELS",
    "ROLE_LABELS",
    "SURVEY_COLUMNS",
    "TARGET_TYPES",
    "Status",
    "areas",
    "audit_text",
    "boundaries",
    "cn_date",
    "cn_time",
    "coverage_totals",
    "export_audit",
    "field_label",
    "filter_targets",
    "goals",
    "grid_kpi",
    "grid_trend",
    "group_label",
    "groups_label",
    "import_log",
    "in_use",
    "kind_label",
    "kpi",
    "kpi_trend",
    "person_card",
    "pin",
    "problem_message",
    "problem_summary",
    "problems",
    "quality",
    "reading",
    "search_persons",
    "status",
    "targets",
    "visit_coverage",
    "visits_by_visitor",
    "visits_stamp",
]
