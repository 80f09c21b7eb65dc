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
from analytics.reads.labels import (
    EXCLUSIONS,
    GROUPS,
    REASON_LABELS,
    TARGET_TYPES,
    kind_label,
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
    kpi,
    kpi_trend,
    status,
)
from analytics.store import reading

__all__ = [
    "CLAIMS",
    "EXCLUSIONS",
    "GROUPS",
    "KPI_COLUMNS",
    "REASON_LABELS",
    "SURVEY_COLUMNS",
    "TARGET_TYPES",
    "Status",
    "areas",
    "boundaries",
    "export_audit",
    "filter_targets",
    "goals",
    "import_log",
    "in_use",
    "kind_label",
    "kpi",
    "kpi_trend",
    "person_card",
    "pin",
    "problem_summary",
    "problems",
    "quality",
    "reading",
    "search_persons",
    "status",
    "targets",
]
