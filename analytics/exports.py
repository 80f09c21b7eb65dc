"""``kuomian export``: the contract's CSV files, read from one registry version.

Columns come first exactly as shared/data-contract.md lists them; more follow.
Files are UTF-8 with a header row; rates are exact (no rounding); empty means
no value.

An export made for an account (``scope``, data contract "Accounts") applies its
role and grid inside the read SQL: a cadre's targets, problems and entities are
the rows whose community lies in the grid, with full values (their work list);
leaders and the administrator get no person-level export and the entities'
contract columns only (the operator's ID number is personal data); the kpi is
open to every role. Without a scope the export is the server operator's: full
access, as before accounts existed.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd

from analytics import audit, store
from analytics.access import AccessDenied, Scope, scope_condition
from analytics.ingest import REPORT_COLUMNS
from analytics.registry.errors import BuildError
from analytics.registry.in_force import define_in_force
from analytics.registry.versions import version_for
from analytics.sources import load_sources
from analytics.textnorm import header_key

TARGET_COLUMNS = [
    "id_number",
    "target_type",
    "groups",
    "street_code",
    "community_code",
    "score",
    "rank",
]
KPI_COLUMNS = [
    "code",
    "name",
    "legal_population",
    "insured",
    "coverage_rate",
    "contributors",
    "employee_contributors",
    "structure_ratio",
    "coverage_gap_2025",
    "structure_gap_2025",
    "coverage_gap_2035",
    "structure_gap_2035",
]
PROBLEM_COLUMNS = ["source_file", "row_number", "kind", "reason", "id_number", "raw", "severity"]
ENTITY_COLUMNS = ["uscc", "entity_name", "street_code", "tax_status", "employees", "reason"]
# `kuomian import` prints the same table as `export imports` (data contract).
IMPORT_COLUMNS = REPORT_COLUMNS


# Exports of person-level data: refused to leaders and the administrator.
PERSON_EXPORTS = ("targets", "problems")
# The accounting of imported files: the bureau's and the administrator's.
IMPORT_ROLES = ("bureau", "admin")


def targets_sql(scoped: bool = False) -> str:
    """The targets export's query; ``scoped``: only the rows in ``$grid``."""
    grid = f" AND {scope_condition()}" if scoped else ""
    return f"""
        SELECT id_number, target_type, nullif(groups_text, '') AS groups, street_code, community_code,
               score, rank, name, primary_group, reasons, action, action_rule,
               survey_result, last_survey_date, claim_to_verify, model
        FROM reg_targets_ranked WHERE version = $v{grid} ORDER BY rank"""


TARGETS_SQL = targets_sql()


# The gap columns of goal years beyond the contract's 2025 and 2035: the build
# adds them to reg_kpi after its other columns, and the export writes them last.
GOAL_GAP_COLUMN = re.compile(r"(coverage|structure)_gap_\d{4}")


def kpi_sql(extra_columns: tuple[str, ...] = ()) -> str:
    """The kpi export's query: the contract's columns, then more, then ``extra_columns``."""
    # An area without a name is written as an empty field (not as a quoted "").
    extra = "".join(f", {c}" for c in extra_columns)
    return f"""
        SELECT {", ".join("nullif(name, '') AS name" if c == "name" else c for c in KPI_COLUMNS)},
               level, population, targets_enroll, targets_upgrade,
               targets_resume, target_entities{extra}
        FROM reg_kpi WHERE version = $v AND level = $level ORDER BY code"""


KPI_SQL = kpi_sql()


def other_goal_gap_columns(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The gap columns of reg_kpi for goal years other than the contract's, in table order."""
    cols = [r[0] for r in con.execute("DESCRIBE reg_kpi").fetchall()]
    return tuple(c for c in cols if GOAL_GAP_COLUMN.fullmatch(c) and c not in KPI_COLUMNS)


def entities_sql(scoped: bool = False, contract_only: bool = False) -> str:
    """The entities export's query; ``scoped``: only the rows in ``$grid``;
    ``contract_only``: the contract's columns, without the operator's ID number."""
    more = (
        ""
        if contract_only
        else (", community_code, entity_type, operator_id_number, registration_status")
    )
    grid = f" AND {scope_condition()}" if scoped else ""
    return f"""
        SELECT {", ".join(ENTITY_COLUMNS)}{more}
        FROM reg_entities WHERE version = $v{grid} ORDER BY uscc"""


ENTITIES_SQL = entities_sql()


# Problems and warnings of the files a registry for $d reads: the batch in force
# for each state kind and every batch up to it for the event kinds, by the
# build's own macro (registry/000_macro_in_force.sql; define_in_force first).
PROBLEMS_SQL = f"""
        SELECT {", ".join("p." + c for c in PROBLEM_COLUMNS)}, p.batch, p.as_of, p.field, p.message
        FROM problems p
        WHERE in_force(p.kind, p.as_of, $d)
        ORDER BY p.as_of, p.batch, p.source_file, p.row_number,
                 CASE p.severity WHEN 'error' THEN 0 ELSE 1 END, p.reason, p.field"""


# A cadre's problem rows: those whose community lies in the grid — the row's own
# address code (a 12-digit code in its raw cells, under any header of the kind's
# address_code field), else the community of its ID number in the registry, else
# none (left out). ``{own}`` and ``{registry}`` are filled by problems_scoped_sql.
PROBLEMS_SCOPED_SQL = f"""
        SELECT {", ".join("p." + c for c in PROBLEM_COLUMNS)}, p.batch, p.as_of, p.field, p.message
        FROM problems p
        {{registry}}
        WHERE in_force(p.kind, p.as_of, $d)
          AND {scope_condition("coalesce({own}, r.community_code)")}
        ORDER BY p.as_of, p.batch, p.source_file, p.row_number,
                 CASE p.severity WHEN 'error' THEN 0 ELSE 1 END, p.reason, p.field"""

# Cleaning an address code for the test "12 digits": trimmed, full-width digits folded.
_TRIM_CHARS = " \t\r\n\u3000"
_WIDE_DIGITS = "０１２３４５６７８９"


def _address_keys(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """kind -> the raw-cell keys of problem rows that are its address_code field's
    headers (as the problem rows were written: the department files' headers)."""
    sources = load_sources()
    found: dict[str, list[str]] = {}
    for kind, key in con.execute(
        "SELECT DISTINCT kind, unnest(json_keys(raw)) FROM problems "
        "WHERE raw IS NOT NULL AND json_valid(raw) ORDER BY ALL"
    ).fetchall():
        spec = sources.kinds.get(kind)
        if spec is None or not any(f.name == "address_code" for f in spec.fields):
            continue
        if key[:1] in ("$", "/"):  # read by DuckDB as a JSON path, and no header anyway
            continue
        if spec.header_lookup().get(header_key(key)) == "address_code":
            found.setdefault(kind, []).append(key)
    return found


def problems_scoped_sql(
    con: duckdb.DuckDBPyConnection, version: int | None
) -> tuple[str, dict[str, object]]:
    """The scoped problems query and its parameters besides $d and $grid."""
    params: dict[str, object] = {"trim_chars": _TRIM_CHARS, "wide": _WIDE_DIGITS}
    cases = []
    for i, (kind, keys) in enumerate(sorted(_address_keys(con).items())):
        params[f"kind{i}"], params[f"keys{i}"] = kind, keys
        cases.append(
            f"WHEN $kind{i} THEN list_filter(list_transform("
            f"json_extract_string(p.raw, $keys{i}), "
            "lambda x: translate(trim(x, $trim_chars), $wide, '0123456789')), "
            "lambda x: regexp_matches(x, '^[0-9]{12}$'))[1]"
        )
    own = (
        f"(CASE WHEN json_valid(p.raw) THEN CASE p.kind {' '.join(cases)} END END)"
        if cases
        else "NULL::VARCHAR"
    )
    if version is None:
        registry = "CROSS JOIN (SELECT NULL::VARCHAR AS community_code) r"
    else:
        registry = (
            "LEFT JOIN (SELECT id_number, community_code FROM reg_persons WHERE version = $v) r "
            "ON r.id_number = p.id_number"
        )
        params["v"] = version
    return PROBLEMS_SCOPED_SQL.format(own=own, registry=registry), params


# Every file ever imported: those in use, and those a later import for the same
# date replaced (in_use false), in the order they were imported.
IMPORTS_SQL = f"""
        SELECT {", ".join(IMPORT_COLUMNS)}, in_use, encoding, sheet, header_row
        FROM (SELECT *, true AS in_use FROM import_files
              UNION ALL BY NAME
              SELECT * EXCLUDE (replaced_seq), false AS in_use FROM import_files_replaced)
        ORDER BY as_of, batch, source_file, kind, import_seq"""


def problems_date(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> dt.date:
    """The date whose problems are listed: ``as_of``, else the current registry's
    date, else (nothing built yet) the newest import."""
    if as_of is not None:
        return as_of
    try:
        return version_for(con)[1]
    except BuildError:  # no registry built yet: the problems of the newest import
        latest = store.scalar(con, "SELECT max(as_of) FROM import_files")
        if latest is None:
            raise ValueError("数据库中没有已导入的批次 (nothing imported yet)") from None
        return latest


def imports_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The accounting of every imported file (the ``imports`` export's rows)."""
    return con.execute(IMPORTS_SQL).df()


def problems_frame(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> pd.DataFrame:
    """Problem data and warnings of the files the registry of ``as_of`` (default:
    the current one) reads: the ``problems`` export's rows; empty, with the
    contract's columns, before anything is imported."""
    if not store.scalar(con, "SELECT count(*) FROM import_files"):
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    define_in_force(con)
    return con.execute(PROBLEMS_SQL, {"d": problems_date(con, as_of)}).df()


# A text cell that Excel or WPS would read as a formula (or that becomes one once
# a leading tab or CR is trimmed, or full-width ＝＋－＠ folded) is written with one
# leading ' so that it shows as text (data contract, "Command line"). A plain
# decimal number (-12.5) stays as it is; "+1" does not (Excel would drop the +).
FORMULA_START = "^[=+\\-@\t\r＝＋－＠]"
PLAIN_NUMBER = "^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells made safe as :func:`safe_text_sql` makes an
    export's (for the app's own downloads)."""
    start, number = re.compile(FORMULA_START), re.compile(PLAIN_NUMBER)

    def cell(value: object) -> object:
        if isinstance(value, str) and start.match(value) and not number.match(value):
            return "'" + value
        return value

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(cell)
    return out


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A download's CSV: safe text cells, UTF-8 with a BOM (Excel and WPS on
    Chinese Windows read it as UTF-8)."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def safe_text_sql(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> str:
    """``sql`` with each text column's formula-like cells prefixed by one '."""
    describe = f"DESCRIBE ({sql})"
    columns = (
        con.execute(describe, params).fetchall() if params else con.execute(describe).fetchall()
    )
    select = []
    for name, type_, *_ in columns:
        col = '"' + name.replace('"', '""') + '"'
        if type_ == "VARCHAR":
            select.append(
                f"CASE WHEN regexp_matches({col}, '{FORMULA_START}') "
                f"AND NOT regexp_matches({col}, '{PLAIN_NUMBER}') "
                f"THEN chr(39) || {col} ELSE {col} END AS {col}"
            )
        else:
            select.append(col)
    return f"SELECT {', '.join(select)} FROM ({sql})"


def check_access(what: str, scope: Scope | None) -> None:
    """Refuse an export the scope's role may not make (AccessDenied), before
    anything is read or written. ``None``: the server's operator, who may all."""
    if scope is None:
        return
    if what in PERSON_EXPORTS:
        scope.require_names()
    elif what == "imports" and scope.role not in IMPORT_ROLES:
        raise AccessDenied("导入记录仅限人社局与系统管理员 (imports: bureau and admin only)")
    elif what == "audit":
        scope.require_audit()


def _registry_version(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> int | None:
    try:
        return version_for(con, as_of)[0]
    except BuildError:
        return None


def export_audit_csv(db: str | Path, out: Path) -> int:
    """The audit log, oldest first, as the ``audit`` export (the contract's columns)."""
    frame = audit.read(db)
    out.parent.mkdir(parents=True, exist_ok=True)
    safe_frame(frame).to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    return len(frame)


def export(
    what: str,
    db: str | Path | None,
    out: Path,
    level: str = "city",
    as_of: dt.date | None = None,
    scope: Scope | None = None,
) -> int:
    """Write one export CSV; returns the number of rows. ``scope``: the account
    it is made for (its role and grid apply); None for the server's operator."""
    check_access(what, scope)
    db = db or store.default_db()
    if what == "audit":
        return export_audit_csv(db, out)
    grid = scope.codes if scope is not None else None
    with store.reading(db) as con:
        if what == "imports":
            sql, params = IMPORTS_SQL, []
        elif what == "problems":
            define_in_force(con)
            params = {"d": problems_date(con, as_of)}
            if grid is None:
                sql = PROBLEMS_SQL
            else:
                sql, more = problems_scoped_sql(con, _registry_version(con, as_of))
                params |= more | {"grid": grid}
        else:
            version, _ = version_for(con, as_of)
            params = {"v": version}
            if grid is not None and what in ("targets", "entities"):
                params["grid"] = grid
            if what == "targets":
                sql = targets_sql(scoped=grid is not None)
            elif what == "kpi":
                sql = kpi_sql(other_goal_gap_columns(con))
                params["level"] = level
            elif what == "entities":
                sql = entities_sql(
                    scoped=grid is not None,
                    contract_only=scope is not None and not scope.sees_names,
                )
            else:
                raise ValueError(f"unknown export {what!r}")
        out.parent.mkdir(parents=True, exist_ok=True)
        rel = con.sql(safe_text_sql(con, sql, params), params=params)
        # DuckDB writes integers as integers, NULL as empty and doubles exactly.
        rel.to_csv(str(out), header=True, sep=",")
        return store.scalar(con, f"SELECT count(*) FROM ({sql})", params)
