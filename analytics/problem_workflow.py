"""Problem data as a workflow: each department gets its rows back to correct,
and every problem has a status.

A problem is identified by (kind, person, reason): the ID number of the row, or
for a row without one a hash of the row as written. Its status:

- ``open``: found in the newest batch of its kind;
- ``sent``: its department's send-back sheet has been downloaded since;
- ``fixed``: a later batch of that kind (a later as-of date, or the same date
  imported again) no longer has it; for death and survey, whose batches add up
  rather than replace each other, a later import of the same as-of date (a
  later date's file holds new events, not the old ones corrected). Should it
  come back, it is open again.

The statuses are kept in the app store (tables ``problem_status`` and
``problem_sync``, created here), and brought up to date from the published
registry's problem data (:func:`refresh`): every batch in use, kind by kind, in
the order of its as-of date and import, once. Nothing here imports Streamlit.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from analytics import audit, store, writes
from analytics.access import AccessDenied, Scope, mask_id
from analytics.exports import safe_frame
from analytics.sources import load_sources

STATUSES = {"open": "待处理", "sent": "已退回部门", "fixed": "已更正"}
SEVERITIES = {"error": "问题（未接收）", "warning": "警告（已接收）"}

# What the department should correct, per reason code: the one line printed
# beside each row of its send-back sheet (and in docs/数据格式.md).
FIX_HINTS = {
    "malformed_row": "该行的列数或引号与表头不一致，请按表头重新填写该行（检查多余的逗号、换行或引号）。",
    "missing_value": "必填项为空，请补全“字段”列所列的项目。",
    "invalid_id": "身份证号不符合 GB 11643（位数、出生日期或校验位错误），请核对后重新填写 18 位号码。",
    "invalid_uscc": "统一社会信用代码不符合 GB 32100（18 位，校验位错误或含 I、O、Z、S、V），请核对。",
    "invalid_date": "日期无法识别或晚于数据日期，请写成 2025-06-30 这样的格式并核对日期。",
    "invalid_value": "取值不在规定列表内，请按《数据格式》所列的取值填写。",
    "invalid_address_code": "区划代码应为 12 位统计用区划代码（参保地为 6 至 12 位），请核对。",
    "out_of_region": "区划代码不在本地区，请核对是否为本地人员或区划代码填错。",
    "conflict": "同一人（同一主键）在本批次中有两条内容不同的记录，请核对后只保留正确的一条。",
    "name_mismatch": "姓名与户籍登记的姓名不一致，请核对姓名。",
    "gender_mismatch": "性别与身份证号所示性别不一致，请核对性别或身份证号。",
}

DDL = """
-- One row per problem (analytics/problem_workflow.py): kind, id_key (the ID
-- number, or 'row:' and a hash of the row without one), reason, its status
-- (open, sent, fixed), the as-of dates it was first and last found at and the
-- import of the last, when and by whom its department's sheet was downloaded,
-- and the as-of date of the batch that no longer had it. Times: local ISO text.
CREATE TABLE IF NOT EXISTS problem_status (
    kind TEXT NOT NULL, id_key TEXT NOT NULL, reason TEXT NOT NULL, severity TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'sent', 'fixed')),
    first_as_of TEXT NOT NULL, last_as_of TEXT NOT NULL, last_seq INTEGER NOT NULL,
    sent_at TEXT, sent_by TEXT, fixed_as_of TEXT, changed_at TEXT NOT NULL,
    PRIMARY KEY (kind, id_key, reason));
-- The counts per kind and status, read on every run of the import page, from
-- the index alone (a city has a hundred thousand problems).
CREATE INDEX IF NOT EXISTS problem_status_counts ON problem_status (kind, status);
-- The newest batch of each kind whose problems are in problem_status.
CREATE TABLE IF NOT EXISTS problem_sync (
    kind TEXT PRIMARY KEY, as_of TEXT NOT NULL, import_seq INTEGER NOT NULL);
"""

STATUS_COLUMNS = [
    "kind",
    "id_key",
    "reason",
    "severity",
    "status",
    "first_as_of",
    "last_as_of",
    "last_seq",
    "sent_at",
    "sent_by",
    "fixed_as_of",
]


def _ensure_tables(con: sqlite3.Connection) -> None:
    # Statement by statement: executescript would commit the caller's transaction.
    for statement in DDL.split(";"):
        if statement.strip():
            con.execute(statement)


def _require_bureau(scope: Scope) -> None:
    if scope.role != "bureau":
        raise AccessDenied("仅人社局可处理问题数据 (bureau only)")


# The person part of a problem's identity: its ID number, else a hash of the
# row as written (a row without an ID is told apart by its cells).
ID_KEY_SQL = "coalesce(nullif(trim(id_number), ''), 'row:' || left(sha256(coalesce(raw, '')), 16))"


def _dates(df: pd.DataFrame) -> pd.DataFrame:
    """``as_of`` as dates (DuckDB's frames give timestamps)."""
    df["as_of"] = pd.to_datetime(df["as_of"]).dt.date
    return df


def _batches(db: str | Path) -> pd.DataFrame:
    """The batches in use, one row per (kind, import): kind, import_seq, as_of, batch."""
    with store.reading(db) as con:
        df = store.frame(
            con,
            """SELECT kind, import_seq, as_of, min(batch) AS batch FROM import_files
               GROUP BY kind, import_seq, as_of ORDER BY kind, as_of, import_seq""",
        )
    return _dates(df)


def _problem_rows(db: str | Path, where: str = "", params: object = None) -> pd.DataFrame:
    with store.reading(db) as con:
        df = store.frame(
            con,
            "SELECT import_seq, batch, as_of, source_file, row_number, kind, reason, id_number, "
            f"raw, severity, field, message, {ID_KEY_SQL} AS id_key FROM problems {where} "
            "ORDER BY kind, as_of, import_seq, source_file, row_number, reason",
            params,
        )
    return _dates(df)


def _stored(con: sqlite3.Connection, kind: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(id_key, reason) -> (status, last_as_of) of ``kind``'s problems."""
    return {
        (k, r): (s, a)
        for k, r, s, a in con.execute(
            "SELECT id_key, reason, status, last_as_of FROM problem_status WHERE kind = ?", [kind]
        )
    }


def _event_kinds() -> frozenset[str]:
    """Kinds whose batches add to the earlier ones (death, survey) instead of replacing them."""
    return frozenset(load_sources().event_kinds)


SYNCED_SQL = "SELECT kind, as_of, import_seq FROM problem_sync"


def _synced(rows: list[tuple]) -> dict[str, tuple[dt.date, int]]:
    return {k: (dt.date.fromisoformat(a), int(s)) for k, a, s in rows}


def _pending(batches: pd.DataFrame, synced: dict[str, tuple[dt.date, int]]) -> list:
    """The batches not taken in yet, in the order to take them in: for a state kind
    those later (as-of date, then import) than the last taken in, an earlier date
    imported again changing nothing of today's; for an event kind every later
    import, whatever its date, since each date's rows stay in force."""
    events = _event_kinds()

    def order(b: Any) -> tuple:
        seq = int(b.import_seq)
        return (seq,) if b.kind in events else (b.as_of, seq)

    def done(b: Any) -> tuple | None:
        if b.kind not in synced:
            return None
        as_of, seq = synced[b.kind]
        return (seq,) if b.kind in events else (as_of, seq)

    todo = [b for b in batches.itertuples(index=False) if done(b) is None or order(b) > done(b)]
    return sorted(todo, key=lambda b: (b.kind, order(b)))


def refresh(db: str | Path, now: dt.datetime | None = None) -> int:
    """Bring the statuses up to date with the published problem data; returns the
    number of batches taken in. Each batch in use later than the last one taken
    in for its kind is applied in order: its problems are open (again, if they
    had been fixed), and its kind's earlier problems it no longer has are fixed."""
    if not Path(db).exists():
        return 0
    batches = _batches(db)
    if batches.empty or not _pending(batches, _synced(store.app_rows(db, SYNCED_SQL))):
        return 0  # the common case, every page run: no write lock taken
    stamp = audit.now_text(now)
    applied = 0
    with store.app_store(db) as con:
        # One refresh at a time: another session's waits, then finds nothing to do.
        con.execute("BEGIN IMMEDIATE")
        _ensure_tables(con)
        todo = _pending(batches, _synced(con.execute(SYNCED_SQL).fetchall()))
        if not todo:
            return 0
        seqs = sorted({int(b.import_seq) for b in todo})
        rows = _problem_rows(db, "WHERE list_contains($seqs, import_seq)", {"seqs": seqs})
        for b in todo:
            _apply(con, b.kind, b.as_of, int(b.import_seq), rows, stamp)
            con.execute(
                "INSERT OR REPLACE INTO problem_sync VALUES (?, ?, ?)",
                [b.kind, b.as_of.isoformat(), int(b.import_seq)],
            )
            applied += 1
    return applied


def _apply(
    con: sqlite3.Connection, kind: str, as_of: dt.date, seq: int, rows: pd.DataFrame, stamp: str
) -> None:
    """Take in one batch of ``kind``: its problems are open, the others it would
    have repeated fixed — every earlier one for a state kind (the batch replaces
    what came before), for an event kind those of the same as-of date only (a
    later date's batch holds new events, not a corrected copy of the old ones)."""
    day = as_of.isoformat()
    event = kind in _event_kinds()
    mine = rows[(rows["kind"] == kind) & (rows["import_seq"] == seq)]
    found = dict.fromkeys(zip(mine["id_key"], mine["reason"], mine["severity"]))
    stored = _stored(con, kind)
    for key, reason, severity in found:
        before = stored.get((key, reason))
        if before is None:
            con.execute(
                "INSERT INTO problem_status (kind, id_key, reason, severity, status, first_as_of, "
                "last_as_of, last_seq, changed_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)",
                [kind, key, reason, severity, day, day, seq, stamp],
            )
        elif before[0] == "fixed":  # back again: a new problem to send
            con.execute(
                "UPDATE problem_status SET status = 'open', first_as_of = ?, last_as_of = ?, "
                "last_seq = ?, sent_at = NULL, sent_by = NULL, fixed_as_of = NULL, changed_at = ? "
                "WHERE kind = ? AND id_key = ? AND reason = ?",
                [day, day, seq, stamp, kind, key, reason],
            )
        else:
            con.execute(
                "UPDATE problem_status SET last_as_of = ?, last_seq = ?, changed_at = ? "
                "WHERE kind = ? AND id_key = ? AND reason = ?",
                [day, seq, stamp, kind, key, reason],
            )
    here = {(k, r) for k, r, _ in found}
    gone = [
        (key, reason)
        for (key, reason), (status, last) in stored.items()
        if status != "fixed" and (key, reason) not in here and (not event or last == day)
    ]
    con.executemany(
        "UPDATE problem_status SET status = 'fixed', fixed_as_of = ?, changed_at = ? "
        "WHERE kind = ? AND id_key = ? AND reason = ?",
        [(day, stamp, kind, key, reason) for key, reason in gone],
    )


def _up_to_date(db: str | Path, scope: Scope) -> None:
    """Before the statuses are read: the bureau only, and :func:`refresh` first."""
    _require_bureau(scope)
    refresh(db)


def statuses(db: str | Path, scope: Scope) -> pd.DataFrame:
    """Every problem's status (:data:`STATUS_COLUMNS`), after :func:`refresh`."""
    _up_to_date(db, scope)
    rows = store.app_rows(db, f"SELECT {', '.join(STATUS_COLUMNS)} FROM problem_status")
    return pd.DataFrame(rows, columns=STATUS_COLUMNS)


# The dates and names of status_list, after the department, reason, ID and status.
LIST_DATES = ["first_as_of", "last_as_of", "sent_at", "sent_by", "fixed_as_of"]


def status_list(db: str | Path, scope: Scope, limit: int | None = None) -> pd.DataFrame:
    """The statuses for the screen: department, reason and status in Chinese, the
    ID masked (a row without one shows nothing), the dates; open first. ``limit``:
    the first rows only (sorted and cut in the query: a city's problems are a
    hundred thousand rows, which the screen lists a thousand of)."""
    _up_to_date(db, scope)
    order = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(STATUSES))
    cut = f" LIMIT {int(limit)}" if limit is not None else ""
    columns = ["kind", "reason", "id_key", "status", *LIST_DATES]
    df = pd.DataFrame(
        store.app_rows(
            db,
            f"SELECT {', '.join(columns)} FROM problem_status "
            f"ORDER BY CASE status {order} END, kind, reason, id_key{cut}",
        ),
        columns=columns,
    )
    reasons = load_sources().labels["reason"]
    df = df.assign(
        kind_label=df["kind"].map(load_sources().kind_label),
        reason_label=df["reason"].map(lambda r: reasons.get(r, r)),
        id_masked=df["id_key"].map(lambda k: "" if k.startswith("row:") else mask_id(k)),
        status_label=df["status"].map(STATUSES),
    )
    return df[["kind_label", "reason_label", "id_masked", "status_label", *LIST_DATES]]


def status_counts(db: str | Path, scope: Scope) -> pd.DataFrame:
    """Per department kind: its problems open, sent and fixed (errors and warnings)."""
    _up_to_date(db, scope)
    rows = store.app_rows(
        db, "SELECT kind, status, count(*) FROM problem_status GROUP BY kind, status"
    )
    if not rows:
        return pd.DataFrame(columns=["kind", "kind_label", *STATUSES])
    out = (
        pd.DataFrame(rows, columns=["kind", "status", "n"])
        .pivot(index="kind", columns="status", values="n")
        .reindex(columns=list(STATUSES))
        .fillna(0)
        .astype("int64")
        .reset_index()
    )
    out.columns.name = None
    out.insert(1, "kind_label", out["kind"].map(load_sources().kind_label))
    return out.sort_values("kind").reset_index(drop=True)


def counts_over_time(db: str | Path, scope: Scope) -> pd.DataFrame:
    """Per department kind and as-of date: the problems its batch had (``found``),
    those first found then (``new``) and those a batch of that date no longer had
    (``fixed``)."""
    _up_to_date(db, scope)
    columns = ["kind", "kind_label", "as_of", "found", "new", "fixed"]

    def per_day(column: str) -> pd.Series:
        # Counted by SQLite: every status into pandas took 0.6 s at a million people.
        rows = store.app_rows(
            db,
            f"SELECT kind, {column}, count(*) FROM problem_status "
            f"WHERE {column} IS NOT NULL GROUP BY kind, {column}",
        )
        return pd.Series(
            [n for _, _, n in rows],
            index=pd.MultiIndex.from_arrays(
                [[k for k, _, _ in rows], [d for _, d, _ in rows]], names=["kind", column]
            ),
            dtype="int64",
        )

    new, fixed = per_day("first_as_of"), per_day("fixed_as_of")
    if new.empty:  # no problem yet (every problem has a first date)
        return pd.DataFrame(columns=columns)
    with store.reading(db) as con:
        found = store.frame(
            con,
            f"""SELECT kind, as_of, count(DISTINCT ({ID_KEY_SQL}, reason)) AS found
                FROM problems GROUP BY kind, as_of""",
        )
    found = _dates(found).set_index(["kind", "as_of"])["found"]
    new = new.rename("new")
    new.index = new.index.set_levels(new.index.levels[1].map(dt.date.fromisoformat), level=1)
    fixed = fixed.rename("fixed")
    if not fixed.empty:
        fixed.index = fixed.index.set_levels(
            fixed.index.levels[1].map(dt.date.fromisoformat), level=1
        )
    days = _batches(db)[["kind", "as_of"]].drop_duplicates().set_index(["kind", "as_of"])
    out = days.join(found).join(new.rename_axis(["kind", "as_of"]))
    out = out.join(fixed.rename_axis(["kind", "as_of"])).fillna(0).astype("int64")
    out = out.reset_index()
    out.insert(1, "kind_label", out["kind"].map(load_sources().kind_label))
    return out[columns].sort_values(["kind", "as_of"]).reset_index(drop=True)


def _latest_batch(db: str | Path, kind: str) -> tuple[int, dt.date] | None:
    b = _batches(db)
    b = b[b["kind"] == kind]
    if b.empty:
        return None
    last = b.sort_values(["as_of", "import_seq"]).iloc[-1]
    return int(last["import_seq"]), last["as_of"]


def send_back_rows(db: str | Path, scope: Scope, kind: str) -> pd.DataFrame:
    """The rows of ``kind``'s problems still to correct (open or sent), each as its
    last batch had it, with the original cells: what its department gets back."""
    df = statuses(db, scope)
    df = df[(df["kind"] == kind) & (df["status"] != "fixed")]
    if df.empty:
        return _problem_rows(db, "WHERE false")
    rows = _problem_rows(
        db,
        "WHERE kind = $kind AND list_contains($seqs, import_seq)",
        {"kind": kind, "seqs": sorted({int(q) for q in df["last_seq"]})},
    )
    wanted = set(zip(df["id_key"], df["reason"], df["last_seq"].astype(int)))
    keep = [
        (k, r, int(q)) in wanted
        for k, r, q in zip(rows["id_key"], rows["reason"], rows["import_seq"])
    ]
    return rows[keep].reset_index(drop=True)


def _sheet_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The send-back sheet's table: where the row is, what is wrong and what to do,
    then the row's own cells under its own headers."""
    reasons = load_sources().labels["reason"]
    parsed = []
    for raw in rows["raw"]:
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:  # a malformed CSV record is kept as written
            value = {"原始内容": raw}
        parsed.append(value if isinstance(value, dict) else {"原始内容": str(value)})
    originals = pd.DataFrame(parsed, index=rows.index, dtype=object)
    front = pd.DataFrame(
        {
            "数据日期": rows["as_of"].map(lambda d: f"{d:%Y-%m-%d}"),
            "文件": rows["source_file"],
            "行号": rows["row_number"],
            "类别": rows["severity"].map(SEVERITIES),
            "原因": rows["reason"].map(lambda r: reasons.get(r, r)),
            "如何更正": rows["reason"].map(lambda r: FIX_HINTS.get(r, "请核对该行。")),
            "字段": rows["field"].fillna(""),
        },
        index=rows.index,
    )
    # A department header that is one of ours (a file with a 字段 column) keeps its cells.
    originals = originals.rename(columns=lambda c: f"原表:{c}" if c in front else str(c))
    return pd.concat([front, originals.astype(object).where(originals.notna(), "")], axis=1)


def send_back_sheet(db: str | Path, scope: Scope, kind: str) -> bytes:
    """The .xlsx a department gets back: one sheet, a title naming the department
    and the batch, then a row per problem (every cell a text cell)."""
    import xlsxwriter

    rows = send_back_rows(db, scope, kind)
    table = safe_frame(_sheet_frame(rows))
    label = load_sources().kind_label(kind)
    latest = _latest_batch(db, kind)
    day = latest[1] if latest else None
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    ws = book.add_worksheet("问题数据")
    bold = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "border": 1, "bg_color": "#D9E1F2", "text_wrap": True})
    text = book.add_format({"border": 1, "num_format": "@", "text_wrap": True, "valign": "top"})
    title = f"{label}问题数据退回清单"
    if day is not None:
        title += f"（数据日期 {day:%Y年%m月%d日}，共 {len(table)} 行）"
    ws.write_string(0, 0, title, bold)
    ws.write_string(1, 0, "请按“如何更正”列改正后，连同本部门其余数据一并重新报送。")
    for c, name in enumerate(table.columns):
        ws.write_string(2, c, str(name), head)
        width = {"如何更正": 40, "原因": 14, "文件": 18}.get(str(name), 14)
        ws.set_column(c, c, width)
    for r, values in enumerate(table.itertuples(index=False), start=3):
        for c, value in enumerate(values):
            ws.write_string(r, c, "" if value is None or pd.isna(value) else str(value), text)
    ws.freeze_panes(3, 0)
    ws.repeat_rows(2)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    book.close()
    return buf.getvalue()


def mark_sent(db: str | Path, scope: Scope, kind: str, now: dt.datetime | None = None) -> int:
    """Record that ``kind``'s send-back sheet was handed over: an ``export`` row of
    the audit log (who, what, rows), and its open problems become ``sent``.
    Returns the rows of the sheet."""
    _require_bureau(scope)
    refresh(db, now)
    rows = send_back_rows(db, scope, kind)
    latest = _latest_batch(db, kind)
    day = f" {latest[1]:%Y-%m-%d}" if latest else ""
    writes.log_export(db, scope, f"问题数据退回 {kind}{day}", len(rows))
    keys = sorted(set(zip(rows["id_key"], rows["reason"])))
    stamp = audit.now_text(now)
    with store.app_store(db) as con:
        _ensure_tables(con)
        con.executemany(
            "UPDATE problem_status SET status = 'sent', sent_at = ?, sent_by = ?, changed_at = ? "
            "WHERE kind = ? AND id_key = ? AND reason = ? AND status = 'open'",
            [(stamp, scope.user, stamp, kind, k, r) for k, r in keys],
        )
    return len(rows)
