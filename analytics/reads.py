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

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analytics import store
from analytics.access import AccessDenied, Scope, mask_id, mask_phone, scope_condition
from analytics.exports import KPI_COLUMNS as EXPORT_KPI_COLUMNS
from analytics.exports import imports_frame, other_goal_gap_columns, problems_frame
from analytics.registry.versions import goals_of
from analytics.sources import load_sources

_SOURCES = load_sources()
# What codes mean on screen, from the kinds mapping (analytics/config/sources.toml).
TARGET_TYPES = _SOURCES.labels["target_type"]
GROUPS = {int(g): label for g, label in _SOURCES.labels["group"].items()}
EXCLUSIONS = _SOURCES.labels["exclusion"]
REASON_LABELS = _SOURCES.labels["reason"]
kind_label = _SOURCES.kind_label
reading = store.reading
# The survey attributes a visit recorded in the app changes at once.
SURVEY_COLUMNS = [
    "last_survey_date",
    "survey_result",
    "willingness",
    "not_insured_reason",
    "ability_to_pay",
    "phone",
    "surveyor",
    "visits",
]


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> pd.DataFrame:
    return con.execute(sql, params).df() if params is not None else con.execute(sql).df()


# ---------------------------------------------------------------- registry status


@dataclass(frozen=True)
class Status:
    """What the database holds: the registry snapshots and the current one."""

    db: str
    exists: bool
    imported: bool = False
    snapshots: tuple[tuple[int, dt.date], ...] = field(default_factory=tuple)
    current_version: int | None = None
    current_as_of: dt.date | None = None
    region_code: str = ""
    region_name: str = ""

    @property
    def built(self) -> bool:
        return self.current_version is not None


def status(db: str | Path) -> Status:
    """The snapshots of the registry; ``built`` is False before the first build."""
    path = Path(db)
    if not path.exists():
        return Status(str(path), exists=False)
    with reading(path) as con:
        imported = store.has_table(con, "import_files") and bool(
            store.scalar(con, "SELECT count(*) FROM import_files")
        )
        if not store.has_table(con, "registry_versions"):
            return Status(str(path), True, imported)
        snaps = tuple(
            (int(v), a)
            for v, a in con.execute(
                "SELECT version, as_of FROM registry_versions ORDER BY as_of"
            ).fetchall()
        )
        current = store.get_meta(con, "current_version")
        region = store.get_meta(con, "region_code") or ""
        cur = next(((v, a) for v, a in snaps if current and v == int(current)), None)
        name = (
            store.scalar(
                con, "SELECT name FROM reg_kpi WHERE version = ? AND level = 'city'", [cur[0]]
            )
            if cur
            else None
        )
    return Status(
        str(path),
        True,
        imported,
        snaps,
        cur[0] if cur else None,
        cur[1] if cur else None,
        region,
        name or "",
    )


# ---------------------------------------------------------------- aggregates (every role)

KPI_COLUMNS = [
    "level",
    *EXPORT_KPI_COLUMNS,
    "population",
    "targets_enroll",
    "targets_upgrade",
    "targets_resume",
    "target_entities",
]


def goals(db: str | Path, version: int) -> dict[int, tuple[float, float]]:
    """year -> (coverage goal, structure goal) the version's gaps were computed with."""
    with reading(db) as con:
        return {g.year: (g.coverage, g.structure) for g in goals_of(con, version)}


def kpi(db: str | Path, version: int, level: str, parent: str | None = None) -> pd.DataFrame:
    """KPI rows of one level (city, street, community), optionally inside ``parent``.

    Aggregates carry no personal data: every role may read them."""
    if level not in ("city", "street", "community"):
        raise ValueError(f"level must be city, street or community, got {level!r}")
    with reading(db) as con:
        columns = [*KPI_COLUMNS, *other_goal_gap_columns(con)]
        out = _df(
            con,
            f"""
            SELECT {", ".join(columns)},
                   targets_enroll + targets_upgrade + targets_resume AS targets
            FROM reg_kpi
            WHERE version = $v AND level = $level
              AND ($parent IS NULL OR starts_with(code, $parent))
            ORDER BY code""",
            {"v": version, "level": level, "parent": parent},
        )
    for col in ("coverage_rate", "structure_ratio"):
        out[col] = out[col].astype("Float64")
    return out


def kpi_trend(db: str | Path, level: str = "city", codes: list[str] | None = None) -> pd.DataFrame:
    """KPI rows of every registry snapshot, oldest first (the quarterly trend)."""
    with reading(db) as con:
        columns = [*KPI_COLUMNS, *other_goal_gap_columns(con)]
        out = _df(
            con,
            f"""
            SELECT v.as_of, k.{", k.".join(columns)}
            FROM reg_kpi k JOIN registry_versions v USING (version)
            WHERE k.level = $level AND ($codes IS NULL OR list_contains($codes, k.code))
            ORDER BY v.as_of, k.code""",
            {"level": level, "codes": codes},
        )
    for col in ("coverage_rate", "structure_ratio"):
        out[col] = out[col].astype("Float64")
    return out


def areas(db: str | Path, version: int) -> pd.DataFrame:
    """Streets and their communities (code, name) known to the registry."""
    with reading(db) as con:
        return _df(
            con,
            """
            SELECT c.code AS community_code, c.name AS community_name,
                   substr(c.code, 1, 9) AS street_code, coalesce(s.name, '') AS street_name
            FROM reg_kpi c
            LEFT JOIN reg_kpi s ON s.version = c.version AND s.level = 'street'
                                AND s.code = substr(c.code, 1, 9)
            WHERE c.version = $v AND c.level = 'community'
            ORDER BY c.code""",
            {"v": version},
        )


def boundaries(db: str | Path, level: str, parent: str | None = None) -> pd.DataFrame:
    """The newest imported boundaries of one level (code, name, geometry as GeoJSON text)."""
    digits = {"street": 9, "community": 12}[level]
    with reading(db) as con:
        return _df(
            con,
            """
            SELECT code, name, geometry FROM boundaries
            WHERE import_seq = (SELECT max(import_seq) FROM boundaries)
              AND length(code) = $n AND ($parent IS NULL OR starts_with(code, $parent))
            ORDER BY code""",
            {"n": digits, "parent": parent},
        )


# ---------------------------------------------------------------- people (scoped)

# Visit results that claim the person is insured: listed for checking.
CLAIMS = ("已参保", "已在外地参保")


def _with_recent_visits(
    con: duckdb.DuckDBPyConnection, db: str | Path, version: int, rows: pd.DataFrame
) -> pd.DataFrame:
    """``rows`` (with ``id_number`` and the survey columns) with the visit attributes
    of the people visited in the app brought up to date: read from the survey rows
    up to the version's date, the department files' and the app's together, by
    the reading of the build's int_survey_latest step."""
    visited = store.visited_ids(db)
    if not visited or rows.empty or not rows["id_number"].isin(visited).any():
        return rows
    store.attach_visits(con, db)
    ids = sorted(set(rows["id_number"]) & visited)
    latest = _df(
        con,
        """
        WITH surveys AS (
            SELECT s.* FROM survey_rows s
            WHERE list_contains($ids, s.id_number)
              AND s.as_of <= (SELECT as_of FROM registry_versions WHERE version = $v)
            QUALIFY row_number() OVER (PARTITION BY s.id_number, s.survey_date
                                       ORDER BY s.as_of DESC) = 1
        )
        SELECT id_number, survey_date AS last_survey_date, result AS survey_result,
               willingness, reason AS not_insured_reason, ability_to_pay, phone, surveyor,
               count(*) OVER (PARTITION BY id_number) AS visits
        FROM surveys
        QUALIFY row_number() OVER (PARTITION BY id_number ORDER BY survey_date DESC,
                                   as_of DESC, source_file, row_number) = 1""",
        {"ids": ids, "v": version},
    ).set_index("id_number")
    out = rows.copy()
    hit = out["id_number"].isin(latest.index)
    latest["claim_to_verify"] = latest["survey_result"].isin(CLAIMS)
    for col in [*SURVEY_COLUMNS, "claim_to_verify"]:
        if col not in out:
            continue
        dtype = out[col].dtype
        out[col] = out[col].astype(object)
        out.loc[hit, col] = out.loc[hit, "id_number"].map(latest[col]).astype(object)
        try:
            out[col] = out[col].astype(dtype)
        except (TypeError, ValueError):
            pass  # a type the new values do not fit (a first visit of a column of NULLs)
    return out


def _mask_frame(df: pd.DataFrame) -> pd.DataFrame:
    if "id_number" in df:
        df.insert(df.columns.get_loc("id_number") + 1, "id_masked", df["id_number"].map(mask_id))
    if "phone" in df:
        df["phone_masked"] = df["phone"].map(mask_phone)
    return df


def targets(
    db: str | Path,
    version: int,
    scope: Scope,
    street: str | None = None,
    community: str | None = None,
    target_type: str | None = None,
    group: int | None = None,
    min_score: float = 0.0,
    limit: int | None = None,
) -> pd.DataFrame:
    """Ranked person targets inside the scope and the filters, best score first.

    ``rank`` is the rank over the whole region (as the export says); ``grid_rank``
    is 1..N within the rows returned."""
    scope.require_names()
    if target_type is not None and target_type not in TARGET_TYPES:
        raise ValueError(f"target_type must be one of {list(TARGET_TYPES)}")
    where = (
        f"t.version = $v AND {scope_condition('t.community_code')}"
        " AND ($street IS NULL OR t.street_code = $street)"
        " AND ($community IS NULL OR t.community_code = $community)"
        " AND ($type IS NULL OR t.target_type = $type)"
        " AND ($group IS NULL OR list_contains(t.groups, $group))"
        " AND t.score >= $min_score"
    )
    with reading(db) as con:
        df = _df(
            con,
            f"""
            SELECT row_number() OVER (ORDER BY t.rank) AS grid_rank, t.rank, t.name,
                   t.id_number, t.gender, t.age, t.target_type, t.groups_text, t.primary_group,
                   t.street_code, coalesce(s.name, '') AS street_name,
                   t.community_code, coalesce(c.name, '') AS community_name,
                   t.score, t.reasons, t.action, t.action_rule, t.survey_result,
                   t.last_survey_date, t.visits, t.claim_to_verify, t.phone
            FROM reg_targets_ranked t
            LEFT JOIN reg_kpi s ON s.version = t.version AND s.level = 'street'
                                AND s.code = t.street_code
            LEFT JOIN reg_kpi c ON c.version = t.version AND c.level = 'community'
                                AND c.code = t.community_code
            WHERE {where}
            ORDER BY t.rank
            {"LIMIT " + str(int(limit)) if limit else ""}""",
            {
                "v": version,
                "grid": scope.codes,
                "street": street,
                "community": community,
                "type": target_type,
                "group": group,
                "min_score": float(min_score),
            },
        )
        df = _with_recent_visits(con, db, version, df)
    df["target_label"] = df["target_type"].map(TARGET_TYPES)
    return _mask_frame(df)


def filter_targets(
    rows: pd.DataFrame,
    street: str | None = None,
    community: str | None = None,
    target_type: str | None = None,
    group: int | None = None,
    min_score: float = 0.0,
) -> pd.DataFrame:
    """The rows of :func:`targets` (already scoped) that pass the filters, with
    ``grid_rank`` numbered again. The same filters as :func:`targets` applies in
    SQL, done in memory so that a filter change needs no database read."""
    keep = rows["score"] >= min_score
    if street is not None:
        keep &= rows["street_code"] == street
    if community is not None:
        keep &= rows["community_code"] == community
    if target_type is not None:
        keep &= rows["target_type"] == target_type
    if group is not None:
        keep &= rows["groups_text"].fillna("").str.split(";").apply(lambda g: str(group) in g)
    out = rows[keep].copy()
    out["grid_rank"] = range(1, len(out) + 1)
    return out.reset_index(drop=True)


def search_persons(
    db: str | Path, version: int, scope: Scope, query: str, limit: int = 50
) -> pd.DataFrame:
    """People of the registry in the scope whose ID number is ``query`` (or ends
    with it, 4+ characters) or whose name contains it."""
    scope.require_names()
    q = (query or "").strip().upper()
    if not q:
        return _mask_frame(
            pd.DataFrame(
                columns=[
                    "id_number",
                    "name",
                    "street_code",
                    "community_code",
                    "target_type",
                    "legal",
                ]
            )
        )
    with reading(db) as con:
        df = _df(
            con,
            f"""
            SELECT p.id_number, p.name, p.age, p.street_code, p.community_code,
                   coalesce(c.name, '') AS community_name, p.legal, p.insured, p.target_type
            FROM reg_persons p
            LEFT JOIN reg_kpi c ON c.version = p.version AND c.level = 'community'
                                AND c.code = p.community_code
            WHERE p.version = $v AND {scope_condition("p.community_code")}
              AND (p.id_number = $q OR (length($q) >= 4 AND ends_with(p.id_number, $q))
                   OR contains(p.name, $q))
            ORDER BY p.id_number = $q DESC, p.name, p.id_number
            LIMIT {int(limit)}""",
            {"v": version, "grid": scope.codes, "q": q},
        )
    df["target_label"] = df["target_type"].map(TARGET_TYPES)
    return _mask_frame(df)


def person_card(
    db: str | Path, version: int, scope: Scope, id_number: str
) -> dict[str, Any] | None:
    """Everything the registry knows of one person, or None when the person is not
    in the registry of this version or outside the scope (the two look the same)."""
    scope.require_names()
    with reading(db) as con:
        person = _df(
            con,
            f"""
            SELECT p.*, coalesce(s.name, '') AS street_name, coalesce(c.name, '') AS community_name
            FROM reg_persons p
            LEFT JOIN reg_kpi s ON s.version = p.version AND s.level = 'street'
                                AND s.code = p.street_code
            LEFT JOIN reg_kpi c ON c.version = p.version AND c.level = 'community'
                                AND c.code = p.community_code
            WHERE p.version = $v AND p.id_number = $id AND {scope_condition("p.community_code")}
            """,
            {"v": version, "id": id_number, "grid": scope.codes},
        )
        if person.empty:
            return None
        person = _with_recent_visits(con, db, version, person)
        target = _df(
            con,
            "SELECT * FROM reg_targets_ranked WHERE version = ? AND id_number = ?",
            [version, id_number],
        )
        evidence = _df(
            con,
            """
            SELECT group_no, kind, source_file, row_number, detail FROM reg_evidence
            WHERE version = ? AND id_number = ? ORDER BY group_no, kind, source_file, row_number""",
            [version, id_number],
        )
        as_of = store.scalar(
            con, "SELECT as_of FROM registry_versions WHERE version = ?", [version]
        )
        enrollments = _df(
            con,
            """
            SELECT as_of, scheme, status, region_code, start_date, grade, base, employer_uscc,
                   source_file, row_number
            FROM src_pension_enrollment WHERE id_number = ? AND as_of <= ?
            ORDER BY as_of, scheme, region_code""",
            [id_number, as_of],
        )
        store.attach_visits(con, db)
        visits = _df(
            con,
            """
            SELECT survey_date, result, willingness, reason, ability_to_pay, phone, surveyor,
                   batch, source_file, as_of
            FROM survey_rows WHERE id_number = ? AND as_of <= ?
            ORDER BY survey_date DESC, as_of DESC""",
            [id_number, as_of],
        )
    row = person.iloc[0].to_dict()
    row["id_masked"] = mask_id(row["id_number"])
    row["phone_masked"] = mask_phone(row.get("phone"))
    row["groups"] = [int(g) for g in list(row.get("groups"))]
    row["exclusion_labels"] = [EXCLUSIONS.get(x, x) for x in list(row.get("exclusions"))]
    row["target_label"] = TARGET_TYPES.get(row.get("target_type") or "", "")
    evidence["group_label"] = evidence["group_no"].map(GROUPS)
    evidence["kind_label"] = evidence["kind"].map(kind_label)
    visits["phone_masked"] = visits["phone"].map(mask_phone)
    return {
        "person": row,
        "target": target.iloc[0].to_dict() if len(target) else None,
        "evidence": evidence,
        "enrollments": enrollments,
        "visits": visits,
    }


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


def problems(db: str | Path, scope: Scope, as_of: dt.date | None = None) -> pd.DataFrame:
    """Problem data and warnings the registry of ``as_of`` reads (the ``problems`` export)."""
    _require_bureau(scope)
    with reading(db) as con:
        if not store.scalar(con, "SELECT count(*) FROM import_files"):
            return pd.DataFrame(
                columns=[
                    "source_file",
                    "row_number",
                    "kind",
                    "reason",
                    "id_number",
                    "raw",
                    "severity",
                ]
            )
        df = problems_frame(con, as_of)
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


def export_audit(db: str | Path, scope: Scope) -> pd.DataFrame:
    """The audit log of exports of names, newest first."""
    _require_bureau(scope)
    columns = ["exported_at", "user_name", "role", "scope", "what", "rows"]
    path = store.app_db(db)
    if not path.exists():
        return pd.DataFrame(columns=columns)
    with store.app_store(db) as con:
        rows = con.execute(
            'SELECT exported_at, user_name, role, scope, what, "rows" '
            "FROM export_audit ORDER BY exported_at DESC"
        ).fetchall()
    out = pd.DataFrame(rows, columns=columns)
    out["exported_at"] = pd.to_datetime(out["exported_at"])
    return out
