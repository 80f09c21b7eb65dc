"""Rows about people: limited to the viewer's scope in the SQL, masked for the screen,
with visits recorded in the app since the build brought up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analytics import store
from analytics.access import (
    Scope,
    mask_id,
    mask_id_sql,
    mask_phone,
    mask_phone_sql,
    scope_condition,
)
from analytics.reads.labels import (
    EXCLUSIONS,
    GROUPS,
    TARGET_TYPES,
    kind_label,
)
from analytics.store import arrow_frame, reading
from analytics.store import frame as _df

# ---------------------------------------------------------------- people (scoped)

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

# Visit results that claim the person is insured: listed for checking.
CLAIMS = ("已参保", "已在外地参保")


def _with_recent_visits(
    con: duckdb.DuckDBPyConnection, visited: set[str], version: int, rows: pd.DataFrame
) -> pd.DataFrame:
    """``rows`` (with ``id_number`` and the survey columns) with the visit attributes
    of the people visited in the app brought up to date: read from the survey rows
    up to the version's date, the department files' and the app's together, by
    the reading of the build's int_survey_latest step. ``visited``: the people
    with a visit in the app, as :func:`store.attach_visits` returned them."""
    if not visited or rows.empty or not rows["id_number"].isin(visited).any():
        return rows
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
    is 1..N within the rows returned. ``address`` is where to find the person:
    the 居住证 address, else the 户籍 one (both are columns too)."""
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
        # Masked in the query and read through Arrow: at a million people (157k
        # targets) a Python call per ID and phone and pandas' own text columns
        # took 0.8 of the 1.1 s this read took.
        df = arrow_frame(
            con,
            f"""
            SELECT row_number() OVER (ORDER BY t.rank) AS grid_rank, t.rank, t.name,
                   t.id_number, {mask_id_sql("t.id_number")} AS id_masked,
                   t.gender, t.age, t.target_type, t.groups_text, t.primary_group,
                   t.street_code, coalesce(s.name, '') AS street_name,
                   t.community_code, coalesce(c.name, '') AS community_name,
                   t.score, t.reasons, t.action, t.action_rule, t.survey_result,
                   t.last_survey_date, t.visits, t.claim_to_verify, t.phone,
                   p.hukou_address, p.residence_address,
                   coalesce(p.residence_address, p.hukou_address, '') AS address,
                   {mask_phone_sql("t.phone")} AS phone_masked
            FROM reg_targets_ranked t
            LEFT JOIN reg_persons p ON p.version = t.version AND p.id_number = t.id_number
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
        visited = store.attach_visits(con, db)
        df = _with_recent_visits(con, visited, version, df)
    if visited:  # a visit in the app may have brought a new phone
        hit = df["id_number"].isin(visited)
        df.loc[hit, "phone_masked"] = df.loc[hit, "phone"].map(mask_phone)
    df.insert(len(df.columns) - 1, "target_label", df["target_type"].map(TARGET_TYPES))
    return df


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
        visited = store.attach_visits(con, db)
        person = _with_recent_visits(con, visited, version, person)
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
        # Each snapshot keeps its own date's enrollment rows: the card reads every
        # date up to this one, each from that date's newest snapshot (this one's own).
        enrollments = _df(
            con,
            """
            WITH pick AS (
                SELECT as_of, CASE WHEN as_of = $d THEN $v ELSE max(version) END AS version
                FROM registry_versions WHERE as_of <= $d GROUP BY as_of)
            SELECT e.as_of, scheme, status, region_code, start_date, grade, base, employer_uscc,
                   source_file, row_number
            FROM reg_enrollments e JOIN pick USING (version, as_of)
            WHERE e.id_number = $id
            ORDER BY e.as_of, scheme, region_code""",
            {"d": as_of, "v": version, "id": id_number},
        )
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
