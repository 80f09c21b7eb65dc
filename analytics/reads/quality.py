"""Data quality for the bureau: import accounting, problem data, the export audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from analytics import audit, store
from analytics.access import AccessDenied, Scope
from analytics.exports import imports_frame, problems_frame
from analytics.reads.labels import (
    kind_label,
)
from analytics.store import frame as _df
from analytics.store import reading

# ---------------------------------------------------------------- data quality (bureau)


def _require_bureau(scope: Scope) -> None:
    if scope.role != "bureau":
        raise AccessDenied("仅人社局可查看导入与问题数据 (bureau only)")


def import_log(db: str | Path, scope: Scope) -> pd.DataFrame:
    """The accounting of every imported file (the ``imports`` export)."""
    _require_bureau(scope)
    with reading(db) as con:
        df = imports_frame(con)
    df["kind_label"] = df["kind"].map(kind_label)
    return df


def newest_import(db: str | Path, scope: Scope) -> dt.date | None:
    """The newest as-of date of the files in use (None before any import)."""
    _require_bureau(scope)
    if not Path(db).exists():
        return None
    with reading(db) as con:
        return store.scalar(con, "SELECT max(as_of) FROM import_files")


def problems(db: str | Path, scope: Scope, as_of: dt.date | None = None) -> pd.DataFrame:
    """Problem data and warnings the registry of ``as_of`` reads (the ``problems`` export)."""
    _require_bureau(scope)
    with reading(db) as con:
        df = problems_frame(con, as_of)  # empty, with the contract's columns, before any import
    df["kind_label"] = df["kind"].map(kind_label)
    return df


def problem_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Problems counted by department kind, reason and severity."""
    if frame.empty:
        return pd.DataFrame(columns=["kind_label", "reason", "severity", "rows"])
    return (
        frame.groupby(["kind_label", "reason", "severity"], as_index=False)
        .size()
        .rename(columns={"size": "rows"})
        .sort_values(["kind_label", "rows"], ascending=[True, False])
    )


def quality(db: str | Path, scope: Scope) -> pd.DataFrame:
    """Per department kind and as-of date: rows read, problems and their share."""
    _require_bureau(scope)
    with reading(db) as con:
        df = _df(
            con,
            """
            SELECT kind, as_of, sum("read")::BIGINT AS "read", sum(accepted)::BIGINT AS accepted,
                   sum(duplicates)::BIGINT AS duplicates, sum(problems)::BIGINT AS problems,
                   sum(warnings)::BIGINT AS warnings,
                   CASE WHEN sum("read") > 0 THEN sum(problems) / sum("read") END AS problem_rate
            FROM import_files GROUP BY kind, as_of ORDER BY kind, as_of""",
        )
    df["kind_label"] = df["kind"].map(kind_label)
    return df


def export_audit(
    db: str | Path,
    scope: Scope,
    user: str | None = None,
    action: str | None = "export",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> pd.DataFrame:
    """The audit log (the contract's columns ``at, user, role, action, what, rows,
    detail``), newest first: its exports by default, every action with
    ``action=None``; for admin and bureau accounts."""
    scope.require_audit()
    out = audit.read(db, user=user, action=action, since=since, until=until, newest_first=True)
    out["at"] = pd.to_datetime(out["at"])
    return out
