"""任务分解 edited in the app: the bureau's own changes to a street's yearly tasks.

The tasks of a year come from three places, the first that has a value winning,
each task on its own (:func:`analytics.quarter.assessment.assess`):

1. the app's newest edit of the street and year (this module), when it gives
   that task;
2. the imported task file (the ``task`` kind) in force at the assessment's date;
3. the default rule, ``ceil(gap(baseline) / (goal_year − year + 1))``.

An edit is stored in the app store (SQLite, beside the registry database), never
in the import store, so it needs no import nor build and never makes a new as-of
date (data contract, "Quarter and year": tasks edited in the app are stored with
the registry's data but never create a new as-of date). It is dated by when it was
made, not by a registry date: the newest edit is the street's task for the whole
year, at every as-of date of that year.

The ``tasks`` table is append-only and versioned: every edit is a new row, the
newest row (highest ``seq``) per (street, year) is the one in force, and triggers
refuse UPDATE and DELETE, so the history of who set which task when is kept. An
edit with a task left empty takes that task back from the app: it falls to the
imported file, else to the default rule.

Only the bureau edits tasks (:class:`~analytics.access.AccessDenied` otherwise).
Each edit writes an audit row in the same transaction. The contract's list of
actions has none for a task; an edit is recorded as ``import`` (the bureau
setting data the assessment reads, as a task file's import would), with
``what`` = ``任务分解 <street_code> <year>`` and the new values in ``detail``.
"""

from __future__ import annotations

import datetime as dt
import math
from numbers import Integral, Real
from pathlib import Path

import pandas as pd

from analytics import audit, store
from analytics.access import AccessDenied, Scope
from analytics.textnorm import clean

TASK_COLUMNS = [
    "street_code",
    "year",
    "coverage_task",
    "structure_task",
    "edited_by",
    "edited_at",
]
EDIT_ROLES = ("bureau",)
AUDIT_ACTION = "import"

# Created through the app store's own connection (store.app_store), beside its
# tables; IF NOT EXISTS, so an older store gains it on the first edit.
TASKS_DDL = """
-- One row per edit of a street's yearly tasks in the app (任务分解); the newest
-- row (highest seq) per (street_code, year) is in force. A task left empty (NULL)
-- is not set by the app: the imported task file, else the default rule, gives it.
-- Append-only: the triggers refuse any change to a written row.
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    street_code TEXT NOT NULL CHECK (length(street_code) = 9),
    year INTEGER NOT NULL,
    coverage_task INTEGER CHECK (coverage_task IS NULL OR coverage_task >= 0),
    structure_task INTEGER CHECK (structure_task IS NULL OR structure_task >= 0),
    edited_by TEXT NOT NULL,
    edited_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_street_year ON tasks (street_code, year, seq);
CREATE TRIGGER IF NOT EXISTS tasks_no_update BEFORE UPDATE ON tasks
BEGIN SELECT RAISE(ABORT, 'tasks is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tasks_no_delete BEFORE DELETE ON tasks
BEGIN SELECT RAISE(ABORT, 'tasks is append-only'); END;
"""

# The newest edit per street of one year.
_NEWEST_SQL = """
    SELECT street_code, year, coverage_task, structure_task, edited_by, edited_at
    FROM tasks t
    WHERE year = ? AND seq = (SELECT max(seq) FROM tasks u
                              WHERE u.street_code = t.street_code AND u.year = t.year)
    ORDER BY street_code"""


class TaskError(ValueError):
    """A task edit that cannot be stored; the message is one line for the user."""


def task_value(value: object, what: str) -> int | None:
    """A task as typed: a non-negative whole number, or empty (None) for "not set
    in the app".

    >>> task_value(" 12 ", "扩面任务"), task_value("１２", "x"), task_value("", "x"), task_value(3.0, "x")
    (12, 12, None, 3)
    """
    if isinstance(value, str):
        # Trimmed and folded as every imported value is (an IME types １２).
        value = clean(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TaskError(f"{what}须为不小于 0 的整数 ({what} must be a whole number ≥ 0)")
    if isinstance(value, Real) and not isinstance(value, Integral) and math.isnan(float(value)):
        return None
    if value is pd.NA:
        return None
    if isinstance(value, str):
        text = value.replace(",", "")
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            raise TaskError(
                f"{what}须为不小于 0 的整数，得到 {value!r} ({what} must be a whole number ≥ 0)"
            )
        value = int(text)
    if isinstance(value, Integral):
        number = int(value)
    elif isinstance(value, Real) and float(value).is_integer():
        number = int(float(value))
    else:
        raise TaskError(
            f"{what}须为不小于 0 的整数，得到 {value!r} ({what} must be a whole number ≥ 0)"
        )
    if number < 0:
        raise TaskError(f"{what}不能为负数，得到 {number} ({what} must not be negative)")
    return number


def street_of(code: object) -> str:
    """A street's 9-digit code; a 12-digit community code counts by its first 9
    digits, as in a task file.

    >>> street_of("530181001"), street_of(" 530181002001 ")
    ('530181001', '530181002')
    """
    text = clean(code)
    if not (text.isascii() and text.isdigit() and len(text) in (9, 12)):
        raise TaskError(f"街道编码须为 9 位数字，得到 {text!r} (a 9-digit street code)")
    return text[:9]


def _year(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral | str):
        raise TaskError(f"年度须为整数，得到 {value!r} (the year must be a whole number)")
    text = str(value).strip().removesuffix("年")
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise TaskError(f"年度须为 4 位年份，得到 {value!r} (a 4-digit year)")
    return int(text)


def _shown(task: int | None) -> str:
    return "（任务文件或默认规则）" if task is None else str(task)


def edit_task(
    db: str | Path,
    scope: Scope,
    street_code: str,
    year: int,
    coverage_task: object,
    structure_task: object,
    now: dt.datetime | None = None,
) -> dict:
    """Store the bureau's tasks for ``street_code`` and ``year`` as a new row
    (the newest row is in force; see the module's docstring) and audit it as
    ``import``, ``what`` = ``任务分解 <street_code> <year>``. A task empty (None,
    blank text) is not set in the app: the imported file, else the default rule,
    gives it. Returns the row written (:data:`TASK_COLUMNS`).

    Refused with :class:`AccessDenied` for any role but the bureau, and with
    :class:`TaskError` for a task that is not a non-negative whole number, a code
    that is not a street's or a year that is not a year — nothing is written."""
    if scope.role not in EDIT_ROLES:
        raise AccessDenied(
            "只有人社局账号可以调整任务分解 (only a bureau account may edit the tasks)"
        )
    row = {
        "street_code": street_of(street_code),
        "year": _year(year),
        "coverage_task": task_value(coverage_task, "扩面任务"),
        "structure_task": task_value(structure_task, "结构比任务"),
        "edited_by": scope.user or audit.OPERATOR,
        "edited_at": audit.now_text(now),
    }
    what = f"任务分解 {row['street_code']} {row['year']}"
    detail = f"扩面任务={_shown(row['coverage_task'])} 结构比任务={_shown(row['structure_task'])}"
    with store.app_store(db) as con:
        con.executescript(TASKS_DDL)
        con.execute(
            "INSERT INTO tasks (street_code, year, coverage_task, structure_task, edited_by, "
            "edited_at) VALUES (?, ?, ?, ?, ?, ?)",
            [row[c] for c in TASK_COLUMNS],
        )
        # The audit row in the same transaction: an edit is never stored unlogged
        # (audit.record would open a second connection, which waits for this one).
        con.execute(
            'INSERT INTO audit (at, "user", role, action, what, "rows", detail) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                row["edited_at"],
                audit.redact(row["edited_by"]),
                scope.role,
                AUDIT_ACTION,
                audit.redact(what),
                1,
                audit.redact(detail),
            ],
        )
    return row


def edited_tasks(db: str | Path | None, year: int) -> pd.DataFrame:
    """The newest edit per street of ``year`` (:data:`TASK_COLUMNS`; a task empty
    where the edit left it to the file or the default rule). Empty, with the
    columns, before any edit. Reads the app store read-only."""
    rows = store.app_rows(db or store.default_db(), _NEWEST_SQL, [int(year)])
    frame = pd.DataFrame(rows, columns=TASK_COLUMNS, dtype=object)
    for c in ("coverage_task", "structure_task"):
        frame[c] = pd.array(frame[c], dtype="Int64")
    frame["year"] = frame["year"].astype("int64")
    return frame


def task_history(db: str | Path | None, year: int | None = None) -> pd.DataFrame:
    """Every edit (of ``year``, if given), newest first: the versions kept."""
    sql = (
        "SELECT street_code, year, coverage_task, structure_task, edited_by, edited_at "
        "FROM tasks" + (" WHERE year = ?" if year is not None else "") + " ORDER BY seq DESC"
    )
    rows = store.app_rows(db or store.default_db(), sql, [] if year is None else [int(year)])
    frame = pd.DataFrame(rows, columns=TASK_COLUMNS, dtype=object)
    for c in ("coverage_task", "structure_task"):
        frame[c] = pd.array(frame[c], dtype="Int64")
    return frame


def edits_stamp(db: str | Path | None) -> int:
    """The number of the newest edit (0 before any): a cache key that changes with
    every edit."""
    rows = store.app_rows(db or store.default_db(), "SELECT max(seq) FROM tasks")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0
