"""Visit coverage: how many of a grid's target people were visited in a year, and
who visited. The seeds ask for every grid (community/village) to be visited at
least once a year (走访每年至少一次); a grid without a visit in the year is flagged.

A visit is a survey row (入户调查) imported from a department file or recorded in
the app (the app store's ``visits``), read together by :func:`store.attach_visits`;
it counts in the year of its survey date. The target people are those of the
registry version read (``reg_targets_ranked``); the grid of a visit is the
visited person's community in that version (``reg_persons``). Aggregates: no
person is named, but the table per visitor names the staff who visited, so it is
for the bureau (:func:`visits_by_visitor` refuses other roles).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analytics import store
from analytics.access import AccessDenied, Scope, scope_condition
from analytics.store import frame as _df
from analytics.store import reading

COVERAGE_COLUMNS = [
    "community_code",
    "community_name",
    "street_code",
    "street_name",
    "targets",
    "targets_visited",
    "visited_share",
    "visits",
    "last_visit",
    "never_visited",
]

_VISITS_OF_YEAR = """
    WITH persons AS (
        SELECT DISTINCT id_number, community_code FROM reg_persons WHERE version = $v
    ),
    visits AS (
        SELECT DISTINCT s.id_number, s.survey_date, coalesce(nullif(trim(s.surveyor), ''), '')
               AS surveyor, p.community_code
        FROM survey_rows s JOIN persons p USING (id_number)
        WHERE year(s.survey_date) = $year
    )
"""


def visit_coverage(db: str | Path, version: int, scope: Scope, year: int) -> pd.DataFrame:
    """A row per community of the viewer's grid: its target people, how many of them
    were visited in ``year`` (and the share), the visits to anyone of the community
    in that year, the last one, and ``never_visited`` when there was none.

    Columns: :data:`COVERAGE_COLUMNS`; the communities without a visit first, then
    by the share visited, lowest first."""
    with reading(db) as con:
        store.attach_visits(con, db)
        return _df(
            con,
            _VISITS_OF_YEAR
            + f"""
            , grid AS (
                SELECT c.code AS community_code, c.name AS community_name,
                       substr(c.code, 1, 9) AS street_code, coalesce(s.name, '') AS street_name
                FROM reg_kpi c
                LEFT JOIN reg_kpi s ON s.version = c.version AND s.level = 'street'
                                    AND s.code = substr(c.code, 1, 9)
                WHERE c.version = $v AND c.level = 'community'
                  AND {scope_condition("c.code")}
            ),
            targets AS (
                SELECT community_code, count(*) AS targets,
                       count(*) FILTER (WHERE id_number IN (SELECT id_number FROM visits))
                           AS targets_visited
                FROM reg_targets_ranked WHERE version = $v
                GROUP BY ALL
            ),
            by_grid AS (
                SELECT community_code, count(*) AS visits, max(survey_date) AS last_visit
                FROM visits GROUP BY ALL
            )
            SELECT g.*, coalesce(t.targets, 0)::BIGINT AS targets,
                   coalesce(t.targets_visited, 0)::BIGINT AS targets_visited,
                   CASE WHEN coalesce(t.targets, 0) > 0
                        THEN t.targets_visited / t.targets END AS visited_share,
                   coalesce(v.visits, 0)::BIGINT AS visits, v.last_visit,
                   coalesce(v.visits, 0) = 0 AS never_visited
            FROM grid g
            LEFT JOIN targets t USING (community_code)
            LEFT JOIN by_grid v USING (community_code)
            ORDER BY never_visited DESC, visited_share NULLS LAST, g.community_code""",
            {"v": version, "year": int(year), "grid": scope.codes},
        )[COVERAGE_COLUMNS]


def visits_by_visitor(db: str | Path, version: int, scope: Scope, year: int) -> pd.DataFrame:
    """A row per visitor (the survey's 调查人; in the app the account that recorded
    the visit unless its user typed another name; empty when a file left it out):
    visits in ``year``, people visited, target people among them, the communities
    visited and the last visit. The bureau only: it names staff."""
    if scope.role != "bureau":
        raise AccessDenied("仅人社局可查看各走访人员的走访情况 (bureau only)")
    with reading(db) as con:
        store.attach_visits(con, db)
        return _df(
            con,
            _VISITS_OF_YEAR
            + """
            SELECT surveyor, count(*)::BIGINT AS visits,
                   count(DISTINCT id_number)::BIGINT AS people,
                   count(DISTINCT id_number) FILTER (WHERE id_number IN (
                       SELECT id_number FROM reg_targets_ranked WHERE version = $v))::BIGINT
                       AS targets_visited,
                   count(DISTINCT community_code)::BIGINT AS communities,
                   max(survey_date) AS last_visit
            FROM visits
            GROUP BY ALL
            ORDER BY visits DESC, surveyor""",
            {"v": version, "year": int(year)},
        )


def coverage_totals(frame: pd.DataFrame) -> dict[str, int | float | None]:
    """The totals of :func:`visit_coverage`'s rows (the viewer's whole grid)."""
    targets = int(frame["targets"].sum())
    visited = int(frame["targets_visited"].sum())
    return {
        "targets": targets,
        "targets_visited": visited,
        "visited_share": visited / targets if targets else None,
        "visits": int(frame["visits"].sum()),
        "grids": len(frame),
        "never_visited": int(frame["never_visited"].sum()),
    }


def visits_stamp(db: str | Path) -> int:
    """The newest visit recorded in the app (0 for none): a cache key that changes
    with every visit."""
    rows = store.app_rows(db, "SELECT coalesce(max(seq), 0) FROM visits")
    return int(rows[0][0]) if rows else 0
