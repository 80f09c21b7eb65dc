"""The person-level lists of the leadership group's quarter: the duplicate
enrollments (重复参保) the bureau cleans up, and the printable rosters a
community works from — the collection roster (征收清册) and the list of people
whose residents'-scheme contribution the government pays (代缴名单).

Both read one registry version (the current one, or the stored one of
``as_of``), like every export. The viewer's :class:`~analytics.access.Scope`
limits the rows to a cadre's grid; a leader's or an admin's export of
person-level data is refused before anything is read or written
(shared/data-contract.md, "Accounts"). No scope is the command line's operator:
full access.

Duplicates are written as the contract's CSV (text cells made safe as every
export's: :func:`analytics.exports.safe_text_sql`). Rosters are .xlsx with a
sheet per community, laid out for printing as :mod:`analytics.visit_sheet` is:
every text cell a string cell (never a formula), numbers as numbers, ID
numbers in full (the roster is the community's working list, and audited).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analytics import store
from analytics.access import AccessDenied, Scope, scope_condition
from analytics.exports import safe_text_sql
from analytics.registry.versions import version_for
from analytics.visit_sheet import print_formats

RESIDENTS = "城乡居民基本养老保险"
CONTRIBUTING, SUSPENDED, DRAWING = "参保缴费", "暂停缴费", "待遇领取"
NOT_INSURED = "未参保"

DUPLICATE_COLUMNS = [
    "id_number",
    "name",
    "street_code",
    "community_code",
    "enrollments",
    "detail",
]
ROSTER_TYPES = ("collection", "subsidised")
# Roles that may export person-level data; every other role (leader, admin, and
# any role added later) is refused unless it is added here on purpose.
PERSON_EXPORT_ROLES = ("bureau", "cadre")


def require_person_export(scope: Scope | None) -> None:
    """Refuse a person-level export to a leader or an admin (data contract,
    "Accounts": aggregates only); ``None`` is the operator (full access)."""
    if scope is None:
        return
    scope.require_names()
    if scope.role not in PERSON_EXPORT_ROLES:
        raise AccessDenied(
            f"{scope.role} 账号不能导出个人信息 (a {scope.role} account may not export "
            "person-level data)"
        )


def _grid(scope: Scope | None) -> list[str] | None:
    return None if scope is None else scope.codes


# ---------------------------------------------------------------- duplicates

# reg_duplicates keeps every enrollment row of a person with more than one that
# is contributing or drawing (int_duplicate_enrollment); the export lists those
# that count, each as scheme|region_code|status, sorted (code point order).
DUPLICATES_SQL = f"""
    WITH d AS (
        SELECT id_number, name, street_code, community_code,
               list_transform(
                   list_filter(enrollments,
                               lambda e: e.status IN ('{CONTRIBUTING}', '{DRAWING}')),
                   lambda e: e.scheme || '|' || e.region_code || '|' || e.status) AS active
        FROM reg_duplicates
        WHERE version = $v AND {scope_condition("community_code")}
    )
    SELECT id_number, nullif(name, '') AS name, street_code, community_code,
           len(active)::BIGINT AS enrollments,
           array_to_string(list_sort(active), ';') AS detail
    FROM d
    ORDER BY id_number"""


def export_duplicates(
    db: str | Path | None,
    out: str | Path,
    scope: Scope | None = None,
    as_of: dt.date | None = None,
) -> int:
    """Write the duplicate-enrollment CSV (重复参保): one row per person of the
    region (legal population or not) with more than one enrollment that is
    参保缴费 or 待遇领取, columns :data:`DUPLICATE_COLUMNS`. Returns the rows."""
    require_person_export(scope)
    out = Path(out)
    with store.reading(db or store.default_db()) as con:
        version, _ = version_for(con, as_of)
        params = {"v": version, "grid": _grid(scope)}
        safe = safe_text_sql(con, DUPLICATES_SQL, params)
        out.parent.mkdir(parents=True, exist_ok=True)
        con.sql(safe, params=params).to_csv(str(out), header=True, sep=",")
        return int(store.scalar(con, f"SELECT count(*) FROM ({DUPLICATES_SQL})", params))


# ---------------------------------------------------------------- rosters

# The enrollment rows the registry of version $v (dated $d) read: those of the
# newest imported date on or before $d that carries pension_enrollment (the
# settled in_force rule), from that date's snapshot. Only dates with a snapshot
# count: a date imported after this registry was built was not read by it.
# (reg_persons says whether someone contributes to the residents' scheme, but
# not whether a suspension is in that scheme, nor a suspended grade.)
ENROLLMENTS_SQL = """
    enrollment_date AS (
        SELECT max(f.as_of) AS as_of FROM import_files f
        WHERE f.kind = 'pension_enrollment' AND f.as_of <= $d
          AND f.as_of IN (SELECT as_of FROM registry_versions)
    ),
    enrollment_version AS (
        SELECT ed.as_of,
               CASE WHEN ed.as_of = $d THEN $v
                    ELSE (SELECT max(r.version) FROM registry_versions r
                          WHERE r.as_of = ed.as_of) END AS version
        FROM enrollment_date ed
    ),
    enrollments AS (
        SELECT e.* FROM reg_enrollments e JOIN enrollment_version USING (version, as_of)
    )"""

# One residents'-scheme enrollment per person with the given statuses, the one
# a roster shows: the first status of $statuses, then the region's own, then the
# highest grade.
RESIDENTS_SQL = f"""
    residents AS (
        SELECT id_number, status, grade, region_code
        FROM enrollments
        WHERE scheme = '{RESIDENTS}' AND list_contains($statuses, status)
        QUALIFY row_number() OVER (
            PARTITION BY id_number
            ORDER BY list_position($statuses, status), region_code = $region DESC,
                     grade DESC NULLS LAST, region_code) = 1
    )"""

PERSON_WHERE = f"""p.version = $v AND p.legal AND list_contains($communities, p.community_code)
          AND {scope_condition("p.community_code")}"""

COLLECTION_SQL = f"""
    WITH {ENROLLMENTS_SQL}, {RESIDENTS_SQL}
    SELECT p.community_code, p.name, p.id_number, p.gender, r.grade, r.status, r.region_code
    FROM reg_persons p JOIN residents r USING (id_number)
    WHERE {PERSON_WHERE}
    ORDER BY p.community_code, p.id_number"""

SUBSIDISED_SQL = f"""
    WITH {ENROLLMENTS_SQL}, {RESIDENTS_SQL},
    evidence AS (
        SELECT id_number,
               string_agg(detail, '；' ORDER BY kind, source_file, row_number) AS evidence,
               string_agg(source_file || ' 第' || row_number || '行', '；'
                          ORDER BY kind, source_file, row_number) AS sources
        FROM reg_evidence WHERE version = $v AND group_no = 7
        GROUP BY id_number
    )
    SELECT p.community_code, p.name, p.id_number, p.gender, p.age,
           coalesce(r.status, '{NOT_INSURED}') AS status, r.grade, r.region_code,
           ev.evidence, ev.sources
    FROM reg_persons p JOIN evidence ev USING (id_number) LEFT JOIN residents r USING (id_number)
    WHERE {PERSON_WHERE} AND (r.id_number IS NOT NULL OR NOT p.insured)
    ORDER BY p.community_code, p.id_number"""


@dataclass(frozen=True)
class Column:
    header: str
    source: str | None  # a column of the rows; "#" for the row number; None: blank to fill in
    width: float
    kind: str = "text"  # text | number


@dataclass(frozen=True)
class RosterLayout:
    sql: str
    statuses: tuple[str, ...]
    title: str  # formatted with community and year
    columns: tuple[Column, ...]


LAYOUTS: dict[str, RosterLayout] = {
    # 征收清册: the residents'-scheme members a community collects from in the
    # coming year (shared/seeds/xuecheng-collection-2019.txt, 三(二)1), with
    # columns the collector fills in by hand.
    "collection": RosterLayout(
        COLLECTION_SQL,
        (CONTRIBUTING, SUSPENDED),
        "{community} {year}年度城乡居民基本养老保险征收清册",
        (
            Column("序号", "#", 5, "number"),
            Column("姓名", "name", 9),
            Column("身份证号", "id_number", 21),
            Column("性别", "gender", 5),
            Column("社区/村", "community_name", 12),
            Column("缴费档次", "grade", 9, "number"),
            Column("参保状态", "status", 9),
            Column("参保地", "region_code", 8),
            Column("缴费金额", None, 10),
            Column("缴费日期", None, 11),
            Column("签名", None, 10),
        ),
    ),
    # 代缴名单: group 7, whose residents'-scheme contribution the government pays
    # (domain brief, group 7), with the evidence of the hardship.
    "subsidised": RosterLayout(
        SUBSIDISED_SQL,
        (CONTRIBUTING, SUSPENDED, DRAWING),
        "{community} {year}年度城乡居民基本养老保险政府代缴名单",
        (
            Column("序号", "#", 5, "number"),
            Column("姓名", "name", 9),
            Column("身份证号", "id_number", 21),
            Column("性别", "gender", 5),
            Column("年龄", "age", 5, "number"),
            Column("社区/村", "community_name", 12),
            Column("参保状态", "status", 9),
            Column("缴费档次", "grade", 9, "number"),
            Column("代缴依据", "evidence", 26),
            Column("数据来源", "sources", 22),
            Column("核实情况", None, 12),
        ),
    ),
}
HEADER_ROW = 2  # 0-based: title, subtitle, header

# Excel's rules for a sheet name: at most 31 characters, none of []:*?/\, not
# starting or ending with ', unique ignoring case, and never "History".
SHEET_NAME_MAX = 31
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_name(name: str, code: str, taken: set[str]) -> str:
    """A valid, unused Excel sheet name for a community; adds the name to ``taken``
    (lower-cased).

    >>> taken = set()
    >>> sheet_name("东风社区", "530181001001", taken), sheet_name("东风社区", "530181002001", taken)
    ('东风社区', '东风社区(530181002001)')
    >>> sheet_name("a[b]:c*?/d\\\\e", "530181001003", taken)
    'a_b__c___d_e'
    """
    base = SHEET_NAME_BAD.sub("_", name or "").strip().strip("'").strip()
    if not base or base.lower() == "history":
        base = base + code if base else code
    candidates = [base[:SHEET_NAME_MAX]]
    suffix = f"({code})"
    candidates.append(base[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix)
    candidates += [
        base[: SHEET_NAME_MAX - len(f"({n})")].rstrip("'") + f"({n})" for n in range(2, 1000)
    ]
    for c in candidates:
        if c and c.lower() not in taken:
            taken.add(c.lower())
            return c
    raise ValueError(f"no free sheet name for {code}")  # 1000 communities of one name


def _communities(
    con: duckdb.DuckDBPyConnection, version: int, community: str | None, scope: Scope | None
) -> tuple[str, list[tuple[str, str, str]]]:
    """The region's code and the (code, name, street name) of the communities the
    roster covers: every community of the region, or those of the 9-digit street
    or the 12-digit community ``community``, inside the scope."""
    region = store.scalar(
        con, "SELECT min(code) FROM reg_kpi WHERE version = ? AND level = 'city'", [version]
    )
    region = str(region or "")
    if community is not None:
        community = str(community).strip()
        if not (community.isdigit() and len(community) in (9, 12)):
            raise ValueError(
                f"--community 须为 9 位街道编码或 12 位社区编码 (a 9-digit street or "
                f"12-digit community code), got {community!r}"
            )
        if region and not community.startswith(region):
            raise ValueError(f"{community} 不在本地区 {region} (not in the region {region})")
    rows = con.execute(
        f"""
        SELECT c.code, coalesce(c.name, ''), coalesce(s.name, '')
        FROM reg_kpi c
        LEFT JOIN reg_kpi s ON s.version = c.version AND s.level = 'street'
                            AND s.code = substr(c.code, 1, 9)
        WHERE c.version = $v AND c.level = 'community' AND starts_with(c.code, $region)
          AND ($prefix IS NULL OR starts_with(c.code, $prefix))
          AND {scope_condition("c.code")}
        ORDER BY c.code""",
        {"v": version, "region": region, "prefix": community, "grid": _grid(scope)},
    ).fetchall()
    return region, [(str(c), str(n), str(s)) for c, n, s in rows]


def roster_frame(
    con: duckdb.DuckDBPyConnection,
    type: str,
    version: int,
    as_of: dt.date,
    communities: Sequence[str],
    region: str,
    scope: Scope | None = None,
) -> pd.DataFrame:
    """The rows of a roster of ``type`` for ``communities``, ordered by community
    and ID number (see :data:`COLLECTION_SQL`, :data:`SUBSIDISED_SQL`)."""
    layout = LAYOUTS[type]
    return con.execute(
        layout.sql,
        {
            "v": version,
            "d": as_of,
            "region": region,
            "statuses": list(layout.statuses),
            "communities": list(communities),
            "grid": _grid(scope),
        },
    ).df()


def _roster_workbook(
    layout: RosterLayout,
    rows: pd.DataFrame,
    communities: list[tuple[str, str, str]],
    as_of: dt.date,
) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    # Every text cell is a string cell, never a formula or a link, whatever it
    # holds (a name from a department file may start with "=").
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    # The same input gives the same file: the data date, not the clock.
    book.set_properties({"created": dt.datetime.combine(as_of, dt.time())})
    title, sub, head, text = print_formats(book)
    number = book.add_format({"border": 1, "valign": "top", "font_size": 10})
    year = as_of.year + 1  # the roster of the coming year's collection
    last_col = len(layout.columns) - 1
    taken: set[str] = set()
    by_community = {code: part for code, part in rows.groupby("community_code", sort=True)}
    sheets = communities or [("", "", "")]
    for code, name, street in sheets:
        label = name or code or "无数据"
        ws = book.add_worksheet(sheet_name(label, code or "无数据", taken))
        part = by_community.get(code, rows.iloc[0:0])
        ws.merge_range(0, 0, 0, last_col, layout.title.format(community=label, year=year), title)
        ws.set_row(0, 28)
        place = "　".join(x for x in (street, f"{label}（{code}）" if code else "") if x)
        ws.merge_range(
            1,
            0,
            1,
            last_col,
            f"{place}    数据日期：{as_of:%Y年%m月%d日}    共 {len(part)} 人",
            sub,
        )
        for c, col in enumerate(layout.columns):
            ws.write_string(HEADER_ROW, c, col.header, head)
            ws.set_column(c, c, col.width)
        ws.set_row(HEADER_ROW, 20)
        for n, rec in enumerate(part.to_dict("records"), start=1):
            r = HEADER_ROW + n
            rec["community_name"] = label
            for c, col in enumerate(layout.columns):
                value = n if col.source == "#" else rec.get(col.source) if col.source else None
                if value is None or (not isinstance(value, str) and pd.isna(value)):
                    ws.write_blank(r, c, None, text)
                elif col.kind == "number":
                    ws.write_number(r, c, float(value), number)
                else:
                    ws.write_string(r, c, str(value), text)
        # Print layout: A4 landscape, one page wide, title and header on every
        # page, gridlines printed.
        ws.set_paper(9)
        ws.set_landscape()
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.repeat_rows(0, HEADER_ROW)
        ws.fit_to_pages(1, 0)
        ws.center_horizontally()
        ws.hide_gridlines(0)
        ws.set_header(f"&L{_header_text(label)}&R数据日期 {as_of:%Y-%m-%d}")
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.freeze_panes(HEADER_ROW + 1, 0)
    book.close()
    return buf.getvalue()


def _header_text(text: str) -> str:
    # & starts a control code in a page header; && prints one &.
    return text.replace("&", "&&")


def export_roster(
    db: str | Path | None,
    out: str | Path,
    type: str,
    community: str | None = None,
    scope: Scope | None = None,
    as_of: dt.date | None = None,
) -> int:
    """Write a roster workbook, a sheet per community: ``collection`` (征收清册:
    legal-population members of the residents' scheme with status 参保缴费 or
    暂停缴费) or ``subsidised`` (代缴名单: group 7 of the legal population,
    insured in the residents' scheme or not insured at all, with the group-7
    evidence). ``community``: a 9-digit street (its communities) or a 12-digit
    community; default every community of the region. Returns the rows."""
    if type not in LAYOUTS:
        raise ValueError(f"roster type must be one of {list(ROSTER_TYPES)}, got {type!r}")
    require_person_export(scope)
    out = Path(out)
    with store.reading(db or store.default_db()) as con:
        version, date = version_for(con, as_of)
        region, communities = _communities(con, version, community, scope)
        rows = roster_frame(con, type, version, date, [c for c, _, _ in communities], region, scope)
    data = _roster_workbook(LAYOUTS[type], rows, communities, date)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return len(rows)
