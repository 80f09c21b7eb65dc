"""What the app writes while serving: field visits, the audit of exports of
names and the audit log. Both go to the app store (:func:`analytics.store.app_store`), never to
the registry database, so they work while an import or a build runs, and
nothing written then is lost when the build publishes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from analytics import audit, store
from analytics.access import Scope, scope_condition
from analytics.registry.build import version_for
from analytics.sources import load_sources

_SOURCES = load_sources()
# Closed value lists of the contract's survey kind (analytics/config/sources.toml).
SURVEY_RESULTS = _SOURCES.choices("survey_result")
ABILITY_TO_PAY = _SOURCES.choices("ability_to_pay")


class VisitError(ValueError):
    """A field-visit record that cannot be stored; the message says which field.

    ``errors`` maps each field in error (the parameter names of
    :func:`record_visit`) to its message, so a form can show each at its field;
    ``field`` is the first of them (None when no one field is at fault)."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = dict(errors or {})
        self.field = next(iter(self.errors), None)


def log_export(db: str | Path, scope: Scope, what: str, rows: int) -> None:
    """Log an export of names in the audit log: an ``export`` row (who, role,
    what, rows; the grid in ``detail``)."""
    scope.require_names()
    audit.record(
        db, scope.user, scope.role, "export", what, rows=int(rows), detail=scope.describe()
    )


# The command line acts as the server's operator in the audit log.
CLI_USER = audit.OPERATOR


def log_audit(
    db: str | Path,
    user: str,
    role: str | None,
    action: str,
    what: str,
    rows: int | None = None,
    detail: str | None = None,
) -> None:
    """Append one row to the audit log through :func:`analytics.audit.record`
    (a missing user or role is the command line's operator)."""
    audit.record(
        db,
        user or audit.OPERATOR,
        role or audit.OPERATOR_ROLE,
        action,
        what or "",
        rows=rows,
        detail=detail or "",
    )


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def visit_errors(
    survey_date: object,
    result: str | None,
    ability_to_pay: str | None = None,
    phone: str | None = None,
    today: dt.date | None = None,
) -> dict[str, str]:
    """What is wrong with a visit's values, by field (the parameter names of
    :func:`record_visit`), every field checked; empty when nothing is.

    >>> visit_errors(dt.date(2025, 7, 1), None, phone="abc123", today=dt.date(2025, 7, 2))
    {'result': '请选择调查结果', 'phone': '联系电话格式不对：只能是数字和“-”，7 到 20 位'}
    """
    today = today or dt.date.today()
    errors: dict[str, str] = {}
    if not isinstance(survey_date, dt.date):
        errors["survey_date"] = "请填写走访日期"
    elif survey_date > today:
        errors["survey_date"] = f"走访日期不能晚于今天（{today:%Y-%m-%d}）"
    if not result:
        errors["result"] = "请选择调查结果"
    elif result not in SURVEY_RESULTS:
        errors["result"] = f"调查结果须为 {'/'.join(SURVEY_RESULTS)} 之一，收到 {result!r}"
    if ability_to_pay and ability_to_pay not in ABILITY_TO_PAY:
        errors["ability_to_pay"] = (
            f"缴费能力须为 {'/'.join(ABILITY_TO_PAY)} 之一，收到 {ability_to_pay!r}"
        )
    text = _text(phone)
    if text and not (text.replace("-", "").isdigit() and 7 <= len(text) <= 20):
        errors["phone"] = "联系电话格式不对：只能是数字和“-”，7 到 20 位"
    return errors


def record_visit(
    db: str | Path,
    scope: Scope,
    id_number: str,
    survey_date: dt.date,
    result: str | None,
    willingness: str | None = None,
    reason: str | None = None,
    ability_to_pay: str | None = None,
    phone: str | None = None,
    surveyor: str | None = None,
    today: dt.date | None = None,
) -> dict:
    """Store one field visit (入户调查) against the current registry date. It shows
    at once in the read functions, and the next build reads it as survey data
    (batch and source file ``现场录入``); scores follow at that build. A second
    record for the same person and day replaces the first (the contract's key of
    survey rows is id_number + survey_date)."""
    scope.require_names()
    errors = visit_errors(survey_date, result, ability_to_pay, phone, today)
    if errors:
        raise VisitError("；".join(errors.values()), errors)
    phone = _text(phone)
    with store.reading(db) as con:
        version, as_of = version_for(con)
        person = store.one(
            con,
            f"""
            SELECT name FROM reg_persons
            WHERE version = $v AND id_number = $id AND {scope_condition()}""",
            {"v": version, "id": id_number, "grid": scope.codes},
        )
    if person is None:
        raise VisitError("此人不在您的网格或实名库中 (not in your grid or the registry)")
    with store.app_store(db) as con:
        key = [as_of.isoformat(), id_number, survey_date.isoformat()]
        con.execute("DELETE FROM visits WHERE as_of = ? AND id_number = ? AND survey_date = ?", key)
        con.execute(
            """
            INSERT INTO visits (as_of, id_number, survey_date, result, name, willingness,
                reason, ability_to_pay, phone, surveyor, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                *key,
                result,
                person[0],
                _text(willingness),
                _text(reason),
                ability_to_pay or None,
                phone,
                _text(surveyor),
                dt.datetime.now().isoformat(sep=" "),
            ],
        )
    return {"as_of": as_of, "version": version}
