"""The audit log (等保 2.0 level 3, 安全审计): who did what, when, to how many rows.

One append-only table of the app store, ``audit`` (DDL in :mod:`analytics.store`),
with the data contract's columns ``at, user, role, action, what, rows, detail``.
Everything that authenticates, exports, or changes an account writes here: the
command line (:mod:`analytics.cli`), the accounts (:mod:`analytics.accounts`),
the exports of the app (:func:`analytics.writes.log_export`).

Nothing in the log may identify a person beyond what the bureau's staff already
are: no password is ever passed in, and :func:`redact` masks every ID-number-
or mobile-number-like run of digits in ``user``, ``what`` and ``detail`` before
it is written, whatever the caller put there (a person_view's detail holds the
ID as ``341721********123X``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd

from analytics import store
from analytics.access import mask_id, mask_phone

# The data contract's list, in its order.
ACTIONS = (
    "login",
    "login_failed",
    "locked",
    "logout",
    "person_view",
    "export",
    "visit",
    "import",
    "build",
    "user_change",
)
COLUMNS = ["at", "user", "role", "action", "what", "rows", "detail"]

# Who the command line is when no --user is given: the server's operator, with
# full access (data contract, "Accounts").
OPERATOR = "(命令行)"
OPERATOR_ROLE = "operator"

# A field of the log is bounded: a name typed at a login prompt can be anything.
_MAX_TEXT = 500

# An 18-character (GB 11643) or 15-digit ID number, and a mainland mobile number,
# as runs not inside a longer code (a 12-digit community code is neither).
_ID_RUN = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
_PHONE_RUN = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")


def redact(text: object, limit: int | None = _MAX_TEXT) -> str:
    """``text`` with ID numbers and mobile numbers masked, bounded to ``limit``
    characters (None: unbounded).

    >>> redact("person 34172119800101123X, tel 13812345678, community 530181001001")
    'person 341721********123X, tel 138****5678, community 530181001001'
    """
    s = "" if text is None else " ".join(str(text).split())
    s = _ID_RUN.sub(lambda m: mask_id(m.group(1), head=6), s)
    s = _PHONE_RUN.sub(lambda m: mask_phone(m.group(1)), s)
    return s if limit is None else s[:limit]


def now_text(now: dt.datetime | None = None) -> str:
    """A time as the log writes it: local time, ISO, to the second."""
    return (now or dt.datetime.now()).isoformat(sep=" ", timespec="seconds")


def record(
    db: str | Path,
    user: str,
    role: str,
    action: str,
    what: str,
    rows: int | None = None,
    detail: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Append one row to the audit log of ``db``'s app store."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; expected one of {list(ACTIONS)}")
    with store.app_store(db) as con:
        con.execute(
            'INSERT INTO audit (at, "user", role, action, what, "rows", detail) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                now_text(now),
                redact(user),
                redact(role),
                action,
                redact(what),
                None if rows is None else int(rows),
                redact(detail),
            ],
        )


def read(
    db: str | Path,
    user: str | None = None,
    action: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    newest_first: bool = False,
) -> pd.DataFrame:
    """Rows of the audit log, the contract's columns, oldest first (or newest):
    of one ``user`` and one ``action`` if given, from ``since`` to ``until``
    (dates, both included). Empty, with the columns, before anything is logged."""
    if action is not None and action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; expected one of {list(ACTIONS)}")
    where, params = [], []
    if user is not None:
        where.append('"user" = ?')
        params.append(user)
    if action is not None:
        where.append("action = ?")
        params.append(action)
    if since is not None:
        where.append("substr(at, 1, 10) >= ?")
        params.append(since.isoformat())
    if until is not None:
        where.append("substr(at, 1, 10) <= ?")
        params.append(until.isoformat())
    rows = store.app_rows(
        db,
        'SELECT at, "user", role, action, what, "rows", detail FROM audit'
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY rowid {'DESC' if newest_first else 'ASC'}",
        params,
    )
    out = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    out["rows"] = pd.array(out["rows"], dtype="Int64")
    return out
