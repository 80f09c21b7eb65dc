"""Accounts of the app and the command line (等保 2.0 level 3: 身份鉴别, 访问控制).

An account has a name, a role (leader, bureau, cadre, admin), for a cadre the
street (9-digit) and community (12-digit) codes of their grid, and an argon2id
password hash; it lives in the app store's ``accounts`` table (DDL in
:mod:`analytics.store`). There is no default account: the first one is made by
the server's operator with ``kuomian user add``.

The rules (shared/data-contract.md, "Accounts"):

- a password has at least 10 characters, with letters and digits;
- the fifth wrong password in a row locks the account for 15 minutes; a locked
  account is refused even with the right password until :func:`unlock` or the
  15 minutes pass; a right password resets the count;
- a password set by the operator (:func:`add_user`, :func:`set_password`) is an
  initial or reset one: ``must_change_password`` is set and the app makes its
  owner choose a new one (:func:`change_password`) at the next login;
- every change of an account is a ``user_change`` row of the audit log, every
  refused login a ``login_failed`` row (and the fifth also ``locked``). A
  successful login is the caller's to record: the command line's export writes
  one ``export`` row, the app a ``login`` row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from analytics import audit, store
from analytics.access import ROLES, AccessDenied, Scope
from analytics.textnorm import clean

# argon2id with argon2-cffi's defaults (RFC 9106's second recommended option:
# 3 passes over 64 MiB, 4 lanes). The tests swap in a cheap hasher through
# tests/conftest.py's ``cheap_hashes`` fixture; nothing else should assign it.
# A hash made with other parameters is rehashed with these at the next login.
hasher = PasswordHasher()

MAX_FAILED = 5  # the fifth wrong password in a row locks the account
LOCK_MINUTES = 15
MIN_PASSWORD = 10
MAX_PASSWORD = 128  # argon2 takes any length; bound the work a login can ask for
STATES = ("active", "disabled")


class AccountError(ValueError):
    """An account change that cannot be made (weak password, bad scope, unknown
    account, ...); the message says what to change."""


class LoginRefused(AccessDenied):
    """Authentication refused: the same message for an unknown name and a wrong
    password, so that the answer does not say which accounts exist."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    scope: tuple[str, ...]
    state: str  # active | disabled
    failed_attempts: int
    locked_until: dt.datetime | None
    must_change_password: bool
    created_at: dt.datetime
    changed_at: dt.datetime

    def locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or clock())

    def status(self, now: dt.datetime | None = None) -> str:
        """active, disabled or locked (a disabled account says disabled)."""
        if self.state == "disabled":
            return "disabled"
        return "locked" if self.locked(now) else "active"

    @property
    def access(self) -> Scope:
        """What this account may read (:class:`analytics.access.Scope`)."""
        return scope_of(self)


def clock() -> dt.datetime:
    """Now, local time (the app store's times are local ISO text)."""
    return dt.datetime.now()


def scope_of(account: Account) -> Scope:
    """The Scope an account reads with: a cadre's grid, the whole region otherwise."""
    if account.role == "cadre":
        return Scope.cadre(account.scope, user=account.name)
    return Scope(account.role, None, account.name)


# ---------------------------------------------------------------- checks


def check_password(password: str) -> None:
    """Refuse a password weaker than the policy (the message never repeats it).

    >>> check_password("kuomian2025")
    >>> check_password("short1")
    Traceback (most recent call last):
    ...
    analytics.accounts.AccountError: 密码至少 10 位 (a password has at least 10 characters)
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(
            f"密码至少 {MIN_PASSWORD} 位 (a password has at least {MIN_PASSWORD} characters)"
        )
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"密码最多 {MAX_PASSWORD} 位 (at most {MAX_PASSWORD} characters)")
    if not any(c.isalpha() for c in password) or not any(c in "0123456789" for c in password):
        raise AccountError("密码须同时包含字母和数字 (a password needs letters and digits)")
    if any(not c.isprintable() for c in password):
        raise AccountError("密码不能含控制字符 (no control characters in a password)")


# A name is who the audit log says did it: it must not look like a person's ID
# number or phone (the log would mask it), nor like the operator's "(命令行)".
_NAME = re.compile(r"[^\s()（）;,]{1,32}")


def check_name(name: str) -> str:
    """The account name as stored (trimmed, full-width folded), or AccountError."""
    text = clean(name)
    if not _NAME.fullmatch(text) or audit.redact(text) != text:
        raise AccountError(
            "账号名须为 1–32 个字符，不含空格、括号、分号、逗号，且不能是证件号或手机号 "
            "(1-32 characters, no spaces, brackets, ';' or ',', not an ID or phone number)"
        )
    return text


def check_scope(role: str, codes: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """A role's scope codes, sorted: a cadre needs at least one street (9 digits)
    or community (12 digits); the other roles take none."""
    if role not in ROLES:
        raise AccountError(f"未知角色 {role!r} (role must be one of {', '.join(ROLES)})")
    codes = tuple(sorted({clean(c) for c in codes or ()}))
    if role != "cadre":
        if codes:
            raise AccountError(f"{role} 账号不带 --scope (only a cadre has a scope)")
        return ()
    if not codes:
        raise AccountError("社区专干账号至少需要一个 --scope 编码 (a cadre needs --scope)")
    bad = [c for c in codes if not (c.isascii() and c.isdigit() and len(c) in (9, 12))]
    if bad:
        raise AccountError(
            f"--scope 须为 9 位街道或 12 位社区编码 (9- or 12-digit codes), got {', '.join(bad)}"
        )
    return codes


# ---------------------------------------------------------------- reading


_COLUMNS = (
    "name, role, scope, state, failed_attempts, locked_until, must_change_password, "
    "created_at, changed_at"
)


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _account(row: tuple) -> Account:
    name, role, scope, state, failed, locked_until, must_change, created, changed = row
    return Account(
        name,
        role,
        tuple(c for c in scope.split(";") if c),
        state,
        int(failed),
        _time(locked_until),
        bool(must_change),
        _time(created),
        _time(changed),
    )


def get_user(db: str | Path, name: str) -> Account | None:
    """One account, or None."""
    rows = store.app_rows(db, f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", [clean(name)])
    return _account(rows[0]) if rows else None


def list_users(db: str | Path) -> list[Account]:
    """Every account, by name."""
    return [
        _account(r) for r in store.app_rows(db, f"SELECT {_COLUMNS} FROM accounts ORDER BY name")
    ]


# ---------------------------------------------------------------- changes


def _changed(
    con, name: str, sets: str, params: list, by: str, by_role: str, what: str, detail: str
) -> Account:
    """Apply ``sets`` to one account and log the change, in ``con``'s transaction."""
    now = audit.now_text()
    cur = con.execute(
        f"UPDATE accounts SET {sets}, changed_at = ? WHERE name = ?", [*params, now, name]
    )
    if cur.rowcount != 1:
        raise AccountError(f"没有账号 {name} (no such account)")
    _log_change(con, by, by_role, what, detail, now)
    row = con.execute(f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", [name]).fetchone()
    return _account(row)


def _log_change(con, by: str, by_role: str, what: str, detail: str, now: str) -> None:
    """A user_change row, in the same transaction as the change it records."""
    con.execute(
        'INSERT INTO audit (at, "user", role, action, what, "rows", detail) '
        "VALUES (?, ?, ?, 'user_change', ?, NULL, ?)",
        [now, audit.redact(by), by_role, audit.redact(what), audit.redact(detail)],
    )


def add_user(
    db: str | Path,
    name: str,
    role: str,
    password: str,
    scope: list[str] | tuple[str, ...] = (),
    by: str = audit.OPERATOR,
    by_role: str = audit.OPERATOR_ROLE,
) -> Account:
    """Create an account with an initial password (to be changed at first login)."""
    name = check_name(name)
    codes = check_scope(role, scope)
    check_password(password)
    digest = hasher.hash(password)
    now = audit.now_text()
    with store.app_store(db) as con:
        if con.execute("SELECT 1 FROM accounts WHERE name = ?", [name]).fetchone():
            raise AccountError(f"账号 {name} 已存在 (account exists)")
        con.execute(
            f"INSERT INTO accounts ({_COLUMNS}, password_hash) VALUES (?, ?, ?, 'active', 0, "
            "NULL, 1, ?, ?, ?)",
            [name, role, ";".join(codes), now, now, digest],
        )
        scope_text = f" scope={';'.join(codes)}" if codes else ""
        _log_change(con, by, by_role, f"user add {name}", f"role={role}{scope_text}", now)
    return get_user(db, name)  # type: ignore[return-value]


def set_state(
    db: str | Path,
    name: str,
    state: str,
    by: str = audit.OPERATOR,
    by_role: str = audit.OPERATOR_ROLE,
) -> Account:
    """Disable an account (refused at every login until enabled) or enable it."""
    if state not in STATES:
        raise AccountError(f"state must be one of {', '.join(STATES)}")
    verb = {"active": "enable", "disabled": "disable"}[state]
    with store.app_store(db) as con:
        return _changed(
            con,
            clean(name),
            "state = ?",
            [state],
            by,
            by_role,
            f"user {verb} {clean(name)}",
            f"state={state}",
        )


def unlock(
    db: str | Path, name: str, by: str = audit.OPERATOR, by_role: str = audit.OPERATOR_ROLE
) -> Account:
    """Lift a lock and clear the count of wrong passwords."""
    with store.app_store(db) as con:
        return _changed(
            con,
            clean(name),
            "failed_attempts = 0, locked_until = NULL",
            [],
            by,
            by_role,
            f"user unlock {clean(name)}",
            "failed_attempts=0",
        )


def set_password(
    db: str | Path,
    name: str,
    password: str,
    by: str = audit.OPERATOR,
    by_role: str = audit.OPERATOR_ROLE,
) -> Account:
    """Reset an account's password (the operator's or an administrator's act):
    its owner must change it at the next login. A lock stays until unlocked."""
    check_password(password)
    digest = hasher.hash(password)
    with store.app_store(db) as con:
        return _changed(
            con,
            clean(name),
            "password_hash = ?, must_change_password = 1",
            [digest],
            by,
            by_role,
            f"user passwd {clean(name)}",
            "password reset; must change at next login",
        )


def change_password(db: str | Path, name: str, old_password: str, new_password: str) -> Account:
    """The owner's own change (the app's forced change at first login): the old
    password is checked as a login is (a wrong one counts toward the lock), the
    new one must follow the policy and differ from it."""
    account = authenticate(db, name, old_password, what="change password")
    check_password(new_password)
    if new_password == old_password:
        raise AccountError("新密码不能与旧密码相同 (the new password must differ)")
    digest = hasher.hash(new_password)
    with store.app_store(db) as con:
        return _changed(
            con,
            account.name,
            "password_hash = ?, must_change_password = 0",
            [digest],
            account.name,
            account.role,
            f"user passwd {account.name}",
            "password changed by its owner",
        )


# ---------------------------------------------------------------- authentication

_REFUSED = "用户名或密码错误 (wrong user name or password)"
_dummy_hash: dict[str, str] = {}


def _verify(digest: str | None, password: str) -> bool:
    """Whether ``password`` matches; an unknown account costs a verification too,
    so that the time taken does not say which names exist."""
    if digest is None:
        key = repr(hasher)
        if key not in _dummy_hash:
            _dummy_hash[key] = hasher.hash("kuomian-no-such-account-0")
        digest = _dummy_hash[key]
        try:
            hasher.verify(digest, password)
        except VerificationError:
            pass
        return False
    try:
        return hasher.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(
    db: str | Path,
    name: str,
    password: str | None,
    now: dt.datetime | None = None,
    what: str = "login",
) -> Account:
    """The account of ``name`` if ``password`` is its password, else LoginRefused.

    Refused, with a ``login_failed`` row in the audit log (``what`` says what
    the login was for, e.g. ``export targets``): an unknown name or a wrong
    password (the same message), a disabled account, a locked one (without
    checking the password). The fifth wrong password in a row also writes a
    ``locked`` row and locks the account for 15 minutes; a right one resets the
    count. A lock that has run out is forgotten, count and all."""
    now = now or clock()
    stamp = audit.now_text(now)
    key = clean(name or "")
    rows = store.app_rows(
        db,
        "SELECT role, state, password_hash, failed_attempts, locked_until "
        "FROM accounts WHERE name = ?",
        [key],
    )
    role, state, digest, _, locked_until = rows[0] if rows else ("", None, None, 0, None)

    def refuse(message: str, detail: str, locked: bool = False) -> LoginRefused:
        audit.record(db, key or "(空)", role, "login_failed", what, detail=detail, now=now)
        if locked:
            audit.record(
                db,
                key,
                role,
                "locked",
                what,
                detail=f"{MAX_FAILED} wrong passwords in a row; locked for {LOCK_MINUTES} minutes",
                now=now,
            )
        return LoginRefused(message)

    if not password:
        raise refuse("没有提供密码 (no password given)", "no password given")
    lock_active = locked_until is not None and _time(locked_until) > now
    if rows and state == "active" and lock_active:
        raise refuse(
            f"账号已锁定至 {locked_until[:16]} (account locked; ask the administrator to unlock)",
            "account locked",
        )
    right = _verify(digest if rows else None, password)
    if not rows:
        raise refuse(_REFUSED, "unknown account")
    if state != "active":
        raise refuse("账号已停用 (account disabled)", "account disabled")
    with store.app_store(db) as con:
        if not right:
            # Counted in one statement: two wrong passwords at once both count.
            # A lock that has run out starts the count again.
            row = con.execute(
                """UPDATE accounts
                   SET failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?
                                              THEN 1 ELSE failed_attempts + 1 END,
                       locked_until = CASE
                           WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= ?
                                      THEN 1 ELSE failed_attempts + 1 END) >= ?
                           THEN ? END
                   WHERE name = ? AND (locked_until IS NULL OR locked_until <= ?)
                   RETURNING failed_attempts, locked_until""",
                [
                    stamp,
                    stamp,
                    MAX_FAILED,
                    audit.now_text(now + dt.timedelta(minutes=LOCK_MINUTES)),
                    key,
                    stamp,
                ],
            ).fetchone()
            locked = row is not None and row[1] is not None
    if not right:
        if row is None:  # locked meanwhile by another attempt
            raise refuse("账号已锁定 (account locked)", "account locked")
        detail = f"wrong password ({row[0]} in a row)"
        if locked:
            raise refuse(
                f"{_REFUSED}; 连续 {MAX_FAILED} 次错误，账号锁定 {LOCK_MINUTES} 分钟 "
                f"(account locked for {LOCK_MINUTES} minutes)",
                detail,
                locked=True,
            )
        raise refuse(_REFUSED, detail)
    new_digest = hasher.hash(password) if hasher.check_needs_rehash(digest) else digest
    with store.app_store(db) as con:
        cur = con.execute(
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, password_hash = ? "
            "WHERE name = ? AND state = 'active' AND password_hash = ? "
            "AND (locked_until IS NULL OR locked_until <= ?)",
            [new_digest, key, digest, stamp],
        )
    if cur.rowcount != 1:  # locked, disabled or reset meanwhile
        raise refuse(_REFUSED, "account changed during login")
    return get_user(db, key)  # type: ignore[return-value]
