"""Read functions for the dashboard (and anything else that shows the registry).

Every function opens a short-lived read-only connection, so the command line can
still write the database between two page loads, and takes the registry
``version`` to read (the cache key of the app) and, where people are returned,
the viewer's :class:`~analytics.access.Scope`:

- rows about people are limited to the scope's grid inside the SQL;
- a leader's scope never gets names or ID numbers (:class:`AccessDenied`);
- ID numbers and phones come back twice: ``id_number``/``phone`` for the server
  side (forms, exports) and ``id_masked``/``phone_masked`` for the screen.

Writes from the app (field visits, imports, the export audit) go through the
functions at the end of this module. DuckDB refuses a read-only and a read-write
connection to one file at the same time within a process, so all connections of
this module are taken under one process-wide lock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analytics import access, store
from analytics.access import AccessDenied, Scope, mask_id, mask_phone, scope_condition
from analytics.ingest import FIELD_BATCH

TARGET_TYPES = {"enroll": "未参保", "upgrade": "升级", "resume": "断缴"}
GROUPS = {
    1: "个体工商户/小微企业主", 2: "被征地农民/乡村医生/村社区干部", 3: "转移就业人员",
    4: "新就业形态劳动者", 5: "自由职业者", 6: "城乡富裕居民", 7: "缴费困难群体",
    8: "其他应参保人员",
}
# Closed value lists of the contract's survey kind (shared/data-contract.md).
SURVEY_RESULTS = ("已参保", "同意参保", "考虑中", "拒绝", "联系不上", "已在外地参保")
ABILITY_TO_PAY = ("强", "一般", "弱")
ENROLLMENT_STATUSES = ("参保缴费", "暂停缴费", "待遇领取", "终止参保")
EXCLUSIONS = {"under_16": "未满16周岁", "dead": "死亡", "moved_out": "迁出", "student": "在校生",
              "inmate": "服刑人员"}
KIND_LABELS = {
    "hukou": "户籍人口", "residence": "居住证", "death": "死亡人员", "pension_enrollment": "养老保险参保",
    "market_entity": "市场主体", "taxpayer": "纳税主体", "student": "在校生", "inmate": "服刑人员",
    "dibao": "低保", "tekun": "特困", "fanpin": "防返贫监测", "disability": "残疾人",
    "landless": "被征地农民", "migrant_worker": "转移就业", "platform_worker": "新就业形态",
    "licensed_professional": "执业资格", "income_assets": "收入资产", "other_eligible": "其他应参人员",
    "division": "行政区划", "survey": "入户调查", "boundaries": "边界",
}

_LOCK = threading.RLock()


@contextmanager
def reading(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with _LOCK:
        con = store.connect(db, read_only=True)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def writing(db: str | Path) -> Iterator[None]:
    """Hold the lock while a write (which opens its own connection) runs."""
    with _LOCK:
        yield


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
            store.scalar(con, "SELECT count(*) FROM import_files"))
        if not store.has_table(con, "registry_versions"):
            return Status(str(path), True, imported)
        snaps = tuple((int(v), a) for v, a in con.execute(
            "SELECT version, as_of FROM registry_versions ORDER BY as_of").fetchall())
        current = store.get_meta(con, "current_version")
        region = store.get_meta(con, "region_code") or ""
        cur = next(((v, a) for v, a in snaps if current and v == int(current)), None)
        name = store.scalar(con, "SELECT name FROM reg_kpi WHERE version = ? AND level = 'city'",
                            [cur[0]]) if cur else None
    return Status(str(path), True, imported, snaps, cur[0] if cur else None,
                  cur[1] if cur else None, region, name or "")


# ---------------------------------------------------------------- aggregates (every role)

KPI_COLUMNS = ["level", "code", "name", "legal_population", "insured", "coverage_rate",
               "contributors", "employee_contributors", "structure_ratio", "coverage_gap_2025",
               "structure_gap_2025", "coverage_gap_2035", "structure_gap_2035", "population",
               "targets_enroll", "targets_upgrade", "targets_resume", "target_entities"]


def kpi(db: str | Path, version: int, level: str, parent: str | None = None) -> pd.DataFrame:
    """KPI rows of one level (city, street, community), optionally inside ``parent``.

    Aggregates carry no personal data: every role may read them."""
    if level not in ("city", "street", "community"):
        raise ValueError(f"level must be city, street or community, got {level!r}")
    with reading(db) as con:
        out = _df(con, f"""
            SELECT {', '.join(KPI_COLUMNS)},
                   targets_enroll + targets_upgrade + targets_resume AS targets
            FROM reg_kpi
            WHERE version = $v AND level = $level
              AND ($parent IS NULL OR starts_with(code, $parent))
            ORDER BY code""", {"v": version, "level": level, "parent": parent})
    for col in ("coverage_rate", "structure_ratio"):
        out[col] = out[col].astype("Float64")
    return out


def kpi_trend(db: str | Path, level: str = "city", codes: list[str] | None = None) -> pd.DataFrame:
    """KPI rows of every registry snapshot, oldest first (the quarterly trend)."""
    with reading(db) as con:
        out = _df(con, f"""
            SELECT v.as_of, k.{', k.'.join(KPI_COLUMNS)}
            FROM reg_kpi k JOIN registry_versions v USING (version)
            WHERE k.level = $level AND ($codes IS NULL OR list_contains($codes, k.code))
            ORDER BY v.as_of, k.code""", {"level": level, "codes": codes})
    for col in ("coverage_rate", "structure_ratio"):
        out[col] = out[col].astype("Float64")
    return out


def areas(db: str | Path, version: int) -> pd.DataFrame:
    """Streets and their communities (code, name) known to the registry."""
    with reading(db) as con:
        return _df(con, """
            SELECT c.code AS community_code, c.name AS community_name,
                   substr(c.code, 1, 9) AS street_code, coalesce(s.name, '') AS street_name
            FROM reg_kpi c
            LEFT JOIN reg_kpi s ON s.version = c.version AND s.level = 'street'
                                AND s.code = substr(c.code, 1, 9)
            WHERE c.version = $v AND c.level = 'community'
            ORDER BY c.code""", {"v": version})


def boundaries(db: str | Path, level: str, parent: str | None = None) -> pd.DataFrame:
    """The newest imported boundaries of one level (code, name, geometry as GeoJSON text)."""
    digits = {"street": 9, "community": 12}[level]
    with reading(db) as con:
        return _df(con, """
            SELECT code, name, geometry FROM boundaries
            WHERE import_seq = (SELECT max(import_seq) FROM boundaries)
              AND length(code) = $n AND ($parent IS NULL OR starts_with(code, $parent))
            ORDER BY code""", {"n": digits, "parent": parent})


# ---------------------------------------------------------------- people (scoped)

def _mask_frame(df: pd.DataFrame) -> pd.DataFrame:
    if "id_number" in df:
        df.insert(df.columns.get_loc("id_number") + 1, "id_masked",
                  df["id_number"].map(mask_id))
    if "phone" in df:
        df["phone_masked"] = df["phone"].map(mask_phone)
    return df


def targets(db: str | Path, version: int, scope: Scope, street: str | None = None,
            community: str | None = None, target_type: str | None = None,
            group: int | None = None, min_score: float = 0.0,
            limit: int | None = None) -> pd.DataFrame:
    """Ranked person targets inside the scope and the filters, best score first.

    ``rank`` is the rank over the whole region (as the export says); ``grid_rank``
    is 1..N within the rows returned."""
    scope.require_names()
    if target_type is not None and target_type not in TARGET_TYPES:
        raise ValueError(f"target_type must be one of {list(TARGET_TYPES)}")
    where = (f"t.version = $v AND {scope_condition('t.community_code')}"
             " AND ($street IS NULL OR t.street_code = $street)"
             " AND ($community IS NULL OR t.community_code = $community)"
             " AND ($type IS NULL OR t.target_type = $type)"
             " AND ($group IS NULL OR list_contains(t.groups, $group))"
             " AND t.score >= $min_score")
    with reading(db) as con:
        df = _df(con, f"""
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
            {'LIMIT ' + str(int(limit)) if limit else ''}""",
                 {"v": version, "grid": scope.codes, "street": street, "community": community,
                  "type": target_type, "group": group, "min_score": float(min_score)})
    df["target_label"] = df["target_type"].map(TARGET_TYPES)
    return _mask_frame(df)


def filter_targets(rows: pd.DataFrame, street: str | None = None, community: str | None = None,
                   target_type: str | None = None, group: int | None = None,
                   min_score: float = 0.0) -> pd.DataFrame:
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


def search_persons(db: str | Path, version: int, scope: Scope, query: str,
                   limit: int = 50) -> pd.DataFrame:
    """People of the registry in the scope whose ID number is ``query`` (or ends
    with it, 4+ characters) or whose name contains it."""
    scope.require_names()
    q = (query or "").strip().upper()
    if not q:
        return _mask_frame(pd.DataFrame(columns=["id_number", "name", "street_code",
                                                 "community_code", "target_type", "legal"]))
    with reading(db) as con:
        df = _df(con, f"""
            SELECT p.id_number, p.name, p.age, p.street_code, p.community_code,
                   coalesce(c.name, '') AS community_name, p.legal, p.insured, p.target_type
            FROM reg_persons p
            LEFT JOIN reg_kpi c ON c.version = p.version AND c.level = 'community'
                                AND c.code = p.community_code
            WHERE p.version = $v AND {scope_condition('p.community_code')}
              AND (p.id_number = $q OR (length($q) >= 4 AND ends_with(p.id_number, $q))
                   OR contains(p.name, $q))
            ORDER BY p.id_number = $q DESC, p.name, p.id_number
            LIMIT {int(limit)}""", {"v": version, "grid": scope.codes, "q": q})
    df["target_label"] = df["target_type"].map(TARGET_TYPES)
    return _mask_frame(df)


def person_card(db: str | Path, version: int, scope: Scope, id_number: str) -> dict[str, Any] | None:
    """Everything the registry knows of one person, or None when the person is not
    in the registry of this version or outside the scope (the two look the same)."""
    scope.require_names()
    with reading(db) as con:
        person = _df(con, f"""
            SELECT p.*, coalesce(s.name, '') AS street_name, coalesce(c.name, '') AS community_name
            FROM reg_persons p
            LEFT JOIN reg_kpi s ON s.version = p.version AND s.level = 'street'
                                AND s.code = p.street_code
            LEFT JOIN reg_kpi c ON c.version = p.version AND c.level = 'community'
                                AND c.code = p.community_code
            WHERE p.version = $v AND p.id_number = $id AND {scope_condition('p.community_code')}
            """, {"v": version, "id": id_number, "grid": scope.codes})
        if person.empty:
            return None
        target = _df(con, "SELECT * FROM reg_targets_ranked WHERE version = ? AND id_number = ?",
                     [version, id_number])
        evidence = _df(con, """
            SELECT group_no, kind, source_file, row_number, detail FROM reg_evidence
            WHERE version = ? AND id_number = ? ORDER BY group_no, kind, source_file, row_number""",
                       [version, id_number])
        as_of = store.scalar(con, "SELECT as_of FROM registry_versions WHERE version = ?",
                             [version])
        enrollments = _df(con, """
            SELECT as_of, scheme, status, region_code, start_date, grade, base, employer_uscc,
                   source_file, row_number
            FROM src_pension_enrollment WHERE id_number = ? AND as_of <= ?
            ORDER BY as_of, scheme, region_code""", [id_number, as_of])
        visits = _df(con, """
            SELECT survey_date, result, willingness, reason, ability_to_pay, phone, surveyor,
                   batch, source_file, as_of
            FROM src_survey WHERE id_number = ? AND as_of <= ?
            ORDER BY survey_date DESC, as_of DESC""", [id_number, as_of])
    row = person.iloc[0].to_dict()
    row["id_masked"] = mask_id(row["id_number"])
    row["phone_masked"] = mask_phone(row.get("phone"))
    row["groups"] = [int(g) for g in list(row.get("groups"))]
    row["exclusion_labels"] = [EXCLUSIONS.get(x, x) for x in list(row.get("exclusions"))]
    row["target_label"] = TARGET_TYPES.get(row.get("target_type") or "", "")
    evidence["group_label"] = evidence["group_no"].map(GROUPS)
    evidence["kind_label"] = evidence["kind"].map(lambda k: KIND_LABELS.get(k, k))
    visits["phone_masked"] = visits["phone"].map(mask_phone)
    return {"person": row, "target": target.iloc[0].to_dict() if len(target) else None,
            "evidence": evidence, "enrollments": enrollments, "visits": visits}


# ---------------------------------------------------------------- data quality (bureau)

def _require_bureau(scope: Scope) -> None:
    if scope.role != "bureau":
        raise AccessDenied("仅人社局可查看导入与问题数据 (bureau only)")


def import_log(db: str | Path, scope: Scope) -> pd.DataFrame:
    """The accounting of every imported file (the ``imports`` export)."""
    _require_bureau(scope)
    from analytics.exports import IMPORTS_SQL

    with reading(db) as con:
        df = _df(con, IMPORTS_SQL)
    df["kind_label"] = df["kind"].map(lambda k: KIND_LABELS.get(k, k))
    return df


def problems(db: str | Path, scope: Scope, as_of: dt.date | None = None) -> pd.DataFrame:
    """Problem data and warnings the registry of ``as_of`` reads (the ``problems`` export)."""
    _require_bureau(scope)
    from analytics.exports import PROBLEMS_SQL, _problems_date

    with reading(db) as con:
        if not store.scalar(con, "SELECT count(*) FROM import_files"):
            return pd.DataFrame(columns=["source_file", "row_number", "kind", "reason",
                                         "id_number", "raw", "severity"])
        df = _df(con, PROBLEMS_SQL, {"d": _problems_date(con, as_of)})
    df["kind_label"] = df["kind"].map(lambda k: KIND_LABELS.get(k, k))
    return df


# What each reason code of the contract means, for the screen (exports keep the codes).
REASON_LABELS = {
    "missing_value": "必填项为空", "invalid_id": "身份证号错误", "invalid_uscc": "信用代码错误",
    "invalid_date": "日期无效", "invalid_value": "取值不在列表内", "invalid_address_code": "区划代码错误",
    "out_of_region": "不在本地区", "conflict": "与前面记录冲突", "name_mismatch": "姓名与户籍不符",
    "gender_mismatch": "性别与身份证不符",
}


def problem_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Problems counted by department kind, reason and severity."""
    if frame.empty:
        return pd.DataFrame(columns=["kind_label", "reason", "severity", "rows"])
    return (frame.groupby(["kind_label", "reason", "severity"], as_index=False)
            .size().rename(columns={"size": "rows"})
            .sort_values(["kind_label", "rows"], ascending=[True, False]))


def quality(db: str | Path, scope: Scope) -> pd.DataFrame:
    """Per department kind and as-of date: rows read, problems and their share."""
    _require_bureau(scope)
    with reading(db) as con:
        df = _df(con, """
            SELECT kind, as_of, sum("read")::BIGINT AS "read", sum(accepted)::BIGINT AS accepted,
                   sum(duplicates)::BIGINT AS duplicates, sum(problems)::BIGINT AS problems,
                   sum(warnings)::BIGINT AS warnings,
                   CASE WHEN sum("read") > 0 THEN sum(problems) / sum("read") END AS problem_rate
            FROM import_files GROUP BY kind, as_of ORDER BY kind, as_of""")
    df["kind_label"] = df["kind"].map(lambda k: KIND_LABELS.get(k, k))
    return df


def export_audit(db: str | Path, scope: Scope) -> pd.DataFrame:
    _require_bureau(scope)
    with reading(db) as con:
        return pd.DataFrame(access.audit_log(con))


# ---------------------------------------------------------------- writes from the app

class VisitError(ValueError):
    """A field-visit record that cannot be stored; the message says which field."""


def log_export(db: str | Path, scope: Scope, what: str, rows: int) -> None:
    """Log an export of names (who, role, grid, what, rows) in ``export_audit``."""
    scope.require_names()
    with writing(db):
        access.log_export(db, scope.user, scope.role, scope, what, rows)


def record_visit(db: str | Path, scope: Scope, id_number: str, survey_date: dt.date,
                 result: str, willingness: str | None = None, reason: str | None = None,
                 ability_to_pay: str | None = None, phone: str | None = None,
                 surveyor: str | None = None, today: dt.date | None = None) -> dict:
    """Store one field visit (入户调查) as survey data of the current registry date
    (batch and source file ``现场录入``) and refresh that person's visit
    attributes in the current registry, so the visit shows at once (scores
    follow at the next build). A second record for the same person and day replaces the first
    (the contract's key of survey rows is id_number + survey_date)."""
    from analytics.registry.build import refresh_survey, version_for

    scope.require_names()
    today = today or dt.date.today()
    if result not in SURVEY_RESULTS:
        raise VisitError(f"调查结果须为 {'/'.join(SURVEY_RESULTS)} 之一，收到 {result!r}")
    if ability_to_pay and ability_to_pay not in ABILITY_TO_PAY:
        raise VisitError(f"缴费能力须为 {'/'.join(ABILITY_TO_PAY)} 之一，收到 {ability_to_pay!r}")
    if not isinstance(survey_date, dt.date) or survey_date > today:
        raise VisitError(f"走访日期不能晚于今天 (survey date after today): {survey_date}")
    phone = (phone or "").strip() or None
    if phone and not (phone.replace("-", "").isdigit() and 7 <= len(phone) <= 20):
        raise VisitError(f"联系电话格式不对 (not a phone number): {phone!r}")

    def clean(v: str | None) -> str | None:
        return (v or "").strip() or None

    with writing(db):
        with reading(db) as con:
            version, as_of = version_for(con)
            person = store.one(con, f"""
                SELECT name FROM reg_persons
                WHERE version = $v AND id_number = $id AND {scope_condition()}""",
                               {"v": version, "id": id_number, "grid": scope.codes})
        if person is None:
            raise VisitError("此人不在您的网格或实名库中 (not in your grid or the registry)")
        con = store.connect(db)
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM src_survey WHERE as_of = ? AND batch = ? AND id_number = ? "
                        "AND survey_date = ?", [as_of, FIELD_BATCH, id_number, survey_date])
            row_number = store.scalar(con, "SELECT coalesce(max(row_number), 0) + 1 FROM src_survey "
                                           "WHERE as_of = ? AND batch = ?", [as_of, FIELD_BATCH])
            con.execute("""
                INSERT INTO src_survey (as_of, batch, source_file, row_number, id_number,
                    survey_date, result, name, willingness, reason, ability_to_pay, phone, surveyor)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        [as_of, FIELD_BATCH, FIELD_BATCH, row_number, id_number, survey_date,
                         result, person[0], clean(willingness), clean(reason),
                         ability_to_pay or None, phone, clean(surveyor)])
            refresh_survey(con, version, as_of, id_number)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()
        return {"as_of": as_of, "version": version}


def import_and_build(paths: list[Path], db: str | Path,
                     progress: Callable[[str, float], None] | None = None
                     ) -> tuple[pd.DataFrame, dict, list[str]]:
    """Import batch folders or zips (all or nothing), then build the registry of the
    newest date. Returns the import report, the build summary and the notices.
    Raises :class:`analytics.ingest.ImportRejected` for a batch that cannot be read."""
    from analytics.ingest import import_batches, report_frame
    from analytics.registry.build import build_registry

    with writing(db):
        results = import_batches(paths, db=db, progress=progress)
        info = build_registry(db)
    notices = [f"{r.batch}: {n}" for r in results for n in r.notices]
    return report_frame(results), info, notices
