"""Who is logged in: the login form, the forced password change, the idle
timeout and the logout (shared/data-contract.md, "Accounts").

Role and scope never come from the screen. At login only the account's *name*
is kept in session state (server side, under a key no widget uses); every run
re-reads the account from the app store (:func:`analytics.accounts.get_user`)
and the pages derive role and scope from that record, so a disabled account is
logged out at its next click, and no widget, query parameter or session-state
value can give a viewer another role or grid.

The audit log: ``login`` and ``logout`` are written here; ``login_failed`` and
``locked`` by :func:`analytics.accounts.authenticate` itself.
"""

from __future__ import annotations

import logging
import re
import time

import streamlit as st

from analytics import accounts, audit
from analytics.access import ROLES
from pages import _shared as ui

log = logging.getLogger("kuomian.app")

IDLE_SECONDS = 30 * 60  # 30 idle minutes end a session (等保 2.0 会话超时)

# Session-state keys, none of them a widget's: the login ({"name", "last"}),
# the account as re-read in this run, and a notice for the login form.
K_LOGIN = "_kuomian_login"
K_ACCOUNT = ui.K_ACCOUNT
K_NOTICE = "_kuomian_notice"


def now() -> float:
    """Seconds since the epoch (the idle clock; tests set the last activity back)."""
    return time.time()


def chinese(exc: Exception) -> str:
    """The Chinese part of a data-layer message, without its English gloss in
    brackets (``用户名或密码错误 (wrong user name or password)`` → ``用户名或密码错误``)."""
    text = re.sub(r"\s*\([^()（）]*[A-Za-z][^()（）]*\)", "", str(exc)).strip(" ;；")
    return text.replace("; ", "；") or "操作未完成"


def current(db: str) -> accounts.Account | None:
    """The logged-in account of this session, re-read from the app store, or None.

    Ends the session (a ``logout`` row) when the account was disabled or removed
    meanwhile, or after :data:`IDLE_SECONDS` without a run; otherwise this run
    counts as activity."""
    login = st.session_state.get(K_LOGIN)
    st.session_state.pop(K_ACCOUNT, None)
    if not isinstance(login, dict) or not login.get("name"):
        return None
    account = accounts.get_user(db, login["name"])
    if account is None or account.state != "active":
        end(db, login["name"], account.role if account else "", "account disabled")
        st.session_state[K_NOTICE] = "账号已停用，已退出登录。如有疑问请联系系统管理员。"
        return None
    if now() - float(login.get("last", 0)) > IDLE_SECONDS:
        end(db, account.name, account.role, "idle timeout")
        st.session_state[K_NOTICE] = "超过 30 分钟未操作，已自动退出登录，请重新登录。"
        return None
    st.session_state[K_LOGIN] = {"name": account.name, "last": now()}
    st.session_state[K_ACCOUNT] = account
    return account


def end(db: str, name: str, role: str, reason: str) -> None:
    """Log the session out: a ``logout`` row, and nothing of the session kept
    (filters, reports and uploads of the last user go with it)."""
    try:
        audit.record(db, name, role or "", "logout", "退出登录", detail=reason)
    except Exception:  # the session ends even when the log cannot be written
        log.exception("could not write the logout row")
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def watch_idle() -> None:
    """Check the idle clock every minute, so that a page left open is cleared
    when the session expires, not only at the next click (the check does not
    count as activity)."""

    @st.fragment(run_every=60)
    def _check() -> None:
        login = st.session_state.get(K_LOGIN)
        if isinstance(login, dict) and now() - float(login.get("last", 0)) > IDLE_SECONDS:
            st.rerun(scope="app")

    _check()


def login_page() -> None:
    """The login form: name and password; the account says role and scope."""
    db = ui.db_path()
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("扩面增效")
        st.caption("基本养老保险扩面增效实名库 · 请使用本人账号登录")
        if notice := st.session_state.pop(K_NOTICE, None):
            st.info(notice)
        with st.form("login_form", clear_on_submit=True):
            name = st.text_input("用户名", key="login_name", autocomplete="username")
            password = st.text_input(
                "密码", type="password", key="login_password", autocomplete="current-password"
            )
            submitted = st.form_submit_button("登录", type="primary")
        if not submitted:
            return
        try:
            account = accounts.authenticate(db, name, password)
        except accounts.LoginRefused as exc:
            # The data layer's message never says whether the name or the password
            # was wrong; a lock or a disabled account is said as such.
            message = chinese(exc)
            if "锁定" in message:
                message += "。请 15 分钟后再试，或请系统管理员解锁"
            st.error(message + "。")
            return
        except Exception:
            log.exception("login failed with an error")
            st.error("登录时出错，请稍后再试或联系系统管理员。")
            return
        audit.record(db, account.name, account.role, "login", "登录", detail="app")
        st.session_state[K_LOGIN] = {"name": account.name, "last": now()}
        st.rerun()


def change_password_page() -> None:
    """The forced change of an initial or reset password, before any page."""
    db = ui.db_path()
    account: accounts.Account = st.session_state[K_ACCOUNT]  # set by current() in this run
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("修改初始密码")
        st.info(
            f"{account.name}（{ROLES.get(account.role, account.role)}）：首次登录或密码被重置后，"
            f"须先设置新密码才能使用系统。新密码至少 {accounts.MIN_PASSWORD} 位，"
            "须同时包含字母和数字。"
        )
        with st.form("password_form", clear_on_submit=True):
            old = st.text_input("当前密码", type="password", key="password_old")
            new = st.text_input("新密码", type="password", key="password_new")
            again = st.text_input("再次输入新密码", type="password", key="password_again")
            submitted = st.form_submit_button("保存新密码", type="primary")
        if submitted:
            if new != again:
                st.error("两次输入的新密码不一致。")
                return
            try:
                accounts.change_password(db, account.name, old, new)
            except accounts.LoginRefused as exc:
                st.error("当前密码不正确：" + chinese(exc) + "。")
                return
            except accounts.AccountError as exc:
                st.error(chinese(exc) + "。")
                return
            st.session_state[K_NOTICE] = "密码已修改。"
            st.rerun()
        st.button(
            "退出登录",
            key="password_logout",
            on_click=end,
            args=(db, account.name, account.role, "logout"),
        )
