"""The form that records a field visit (录入走访结果), on the visit list and on the
person card.

Its values live in session state under the form's keys: a submit that fails
keeps what was typed, and each error is shown under its own field (the errors
are :func:`analytics.writes.visit_errors`, by field). 调查结果 has no default: it
stays empty until chosen, and a submit without one is that field's error. A
visit saved empties the form for the next one and says so.

The submit button's callback does the saving, before the page runs again, so
the page that follows already shows the visit.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analytics import audit, writes
from analytics.access import mask_id
from pages import _session as session
from pages import _shared as ui

# field of writes.record_visit -> the key suffix of its widget (prefix_suffix)
WIDGETS = {
    "survey_date": "date",
    "result": "result",
    "willingness": "willingness",
    "ability_to_pay": "ability",
    "phone": "phone",
    "surveyor": "surveyor",
    "reason": "reason",
}


def _key(prefix: str, field: str) -> str:
    return f"{prefix}_{WIDGETS.get(field, field)}"


def _defaults(ctx: ui.Ctx) -> dict[str, object]:
    return {
        "survey_date": dt.date.today(),
        "result": None,
        "willingness": "",
        "ability_to_pay": "",
        "phone": "",
        "surveyor": ctx.scope.user,
        "reason": "",
    }


def _reset(ctx: ui.Ctx, prefix: str) -> None:
    """Set every field back to its default (before its widget is drawn)."""
    for field, value in _defaults(ctx).items():
        st.session_state[_key(prefix, field)] = value
    st.session_state.pop(f"{prefix}_errors", None)


def _error_at(errors: dict[str, str], field: str) -> None:
    if message := errors.get(field):
        st.error(message)


def visit_form(ctx: ui.Ctx, people: dict[str, str], prefix: str = "visit") -> None:
    """The form for one of ``people`` (ID number -> label): with several, a choice
    of whom (widget ``<prefix>_who``); with one, that person. The widgets' keys
    are ``<prefix>_date``, ``_result``, ``_willingness``, ``_ability``,
    ``_phone``, ``_surveyor`` and ``_reason``."""
    state = st.session_state
    if saved := state.pop(f"{prefix}_saved", None):
        st.success(saved)
    only = next(iter(people)) if len(people) == 1 else None
    # A form drawn afresh (first time, another page before, another person on
    # the card) starts from the defaults and without old errors.
    fresh = _key(prefix, "phone") not in state or state.get(f"{prefix}_for", only) != only
    if fresh:
        _reset(ctx, prefix)
    state[f"{prefix}_for"] = only
    errors: dict[str, str] = state.get(f"{prefix}_errors") or {}
    today = dt.date.today()
    with st.form(f"{prefix}_form", clear_on_submit=False):
        if only is None:
            st.selectbox("走访对象", list(people), format_func=people.get, key=f"{prefix}_who")
        else:
            st.markdown(f"走访对象：{people[only]}")
        _error_at(errors, "who")
        a, b, c = st.columns(3)
        with a:
            st.date_input("走访日期", max_value=today, key=_key(prefix, "survey_date"))
            _error_at(errors, "survey_date")
            st.selectbox(
                "调查结果",
                writes.SURVEY_RESULTS,
                index=None,
                placeholder="请选择调查结果",
                key=_key(prefix, "result"),
            )
            _error_at(errors, "result")
        with b:
            st.text_input("参保意愿", key=_key(prefix, "willingness"))
            _error_at(errors, "willingness")
            st.selectbox(
                "缴费能力",
                ("",) + writes.ABILITY_TO_PAY,
                key=_key(prefix, "ability_to_pay"),
                format_func=lambda v: v or "（未填）",
            )
            _error_at(errors, "ability_to_pay")
        with c:
            st.text_input("联系电话", key=_key(prefix, "phone"))
            _error_at(errors, "phone")
            st.text_input("调查人", key=_key(prefix, "surveyor"))
            _error_at(errors, "surveyor")
        st.text_input("未参保原因", key=_key(prefix, "reason"))
        _error_at(errors, "reason")
        st.form_submit_button(
            "保存走访结果", type="primary", on_click=_save, args=(ctx, people, prefix)
        )


def _save(ctx: ui.Ctx, people: dict[str, str], prefix: str) -> None:
    """The submit button's callback: store the visit, or keep the errors by field."""
    state = st.session_state
    who = next(iter(people)) if len(people) == 1 else state.get(f"{prefix}_who")
    values = {field: state.get(_key(prefix, field)) for field in WIDGETS}
    try:
        if who not in people:
            raise writes.VisitError("请选择走访对象", {"who": "请选择走访对象"})
        writes.record_visit(
            ctx.db,
            ctx.scope,
            who,
            values["survey_date"],
            values["result"],
            willingness=values["willingness"],
            reason=values["reason"],
            ability_to_pay=values["ability_to_pay"] or None,
            phone=values["phone"],
            surveyor=values["surveyor"],
        )
    except writes.VisitError as exc:
        # An error of no one field (the person is not in the viewer's grid) goes above.
        state[f"{prefix}_errors"] = exc.errors or {"who": session.chinese(exc)}
        return
    audit.record(
        ctx.db,
        ctx.scope.user,
        ctx.scope.role,
        "visit",
        f"走访结果 {values['result']} 走访日期 {values['survey_date']}",
        rows=1,
        detail=f"person {mask_id(who, head=6)}",
    )
    st.cache_data.clear()
    _reset(ctx, prefix)
    state[f"{prefix}_saved"] = (
        f"已保存 {people[who].split('（')[0]} 的走访结果"
        f"（{values['result']}），实名库已更新；评分将在下次构建时更新。"
    )
