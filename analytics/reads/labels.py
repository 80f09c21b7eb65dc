"""What codes mean on screen, from the kinds mapping (analytics/config/sources.toml):
target types, the eight groups, exclusions, problem reasons, department fields,
column titles, roles, the audit log's words, and dates as 2025年9月30日."""

from __future__ import annotations

import re

import pandas as pd

from analytics.access import ROLES
from analytics.sources import load_sources

_SOURCES = load_sources()
TARGET_TYPES = _SOURCES.labels["target_type"]
GROUPS = {int(g): label for g, label in _SOURCES.labels["group"].items()}
EXCLUSIONS = _SOURCES.labels["exclusion"]
REASON_LABELS = _SOURCES.labels["reason"]
COLUMN_LABELS = _SOURCES.labels["column"]
ROLE_LABELS = ROLES
kind_label = _SOURCES.kind_label
# Longest phrase first, so "user add" wins over "user".
_AUDIT = sorted(_SOURCES.labels["audit"].items(), key=lambda kv: -len(kv[0]))


def _missing(v: object) -> bool:
    """None, NaN, NaT or pandas' NA (NaT is a datetime, so test it first)."""
    if v is None or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def cn_date(d: object) -> str:
    """A date as the screen says it, without leading zeros; empty when there is none.

    >>> import datetime as dt
    >>> cn_date(dt.date(2025, 9, 30)), cn_date("2025-03-01 00:00:00"), cn_date(None)
    ('2025年9月30日', '2025年3月1日', '')
    """
    if _missing(d):
        return ""
    d = pd.Timestamp(d)
    return f"{d.year}年{d.month}月{d.day}日"


def cn_time(t: object) -> str:
    """A moment as 2025年9月30日 14:05 (the audit log's and the imports' times)."""
    if _missing(t):
        return ""
    t = pd.Timestamp(t)
    return f"{cn_date(t)} {t:%H:%M}"


def group_label(group: object) -> str:
    """A group number with its name: ``6 城乡富裕居民``."""
    try:
        g = int(str(group).strip())
    except ValueError:
        return str(group)
    return f"{g} {GROUPS[g]}" if g in GROUPS else str(g)


def groups_label(groups_text: object) -> str:
    """``"1;4"`` (the registry's groups_text) as ``1 个体工商户/小微企业主、4 新就业形态劳动者``."""
    if groups_text is None or (not isinstance(groups_text, str) and pd.isna(groups_text)):
        return ""
    return "、".join(group_label(g) for g in re.split(r"[;,]", str(groups_text)) if g.strip())


def field_label(kind: str, field: str) -> str:
    """A department field as its file's header says it (the first header synonym)."""
    k = _SOURCES.kinds.get(kind)
    try:
        f = k.field(field) if k else None
    except KeyError:
        f = None
    if f is not None and f.headers:
        return f.headers[0]
    for other in _SOURCES.kinds.values():  # a field of no named kind: any kind's header
        for f in other.fields:
            if f.name == field and f.headers:
                return f.headers[0]
    return field


def problem_message(kind: str, message: object) -> str:
    """A problem's message (``id_number: invalid_id``) with the field and reason in Chinese."""
    if message is None or (not isinstance(message, str) and pd.isna(message)):
        return ""
    text = str(message)
    if ": " in text:
        field, _, reason = text.partition(": ")
        if re.fullmatch(r"[a-z_]+", field):
            return f"{field_label(kind, field)}：{REASON_LABELS.get(reason, reason)}"
    return REASON_LABELS.get(text, text)


def audit_text(text: object) -> str:
    """The audit log's English words (``user add 王专干``, ``role=cadre``) in Chinese."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    out = str(text)
    for phrase, chinese in _AUDIT:
        tail = r"(?![A-Za-z_])" if phrase[-1].isalpha() else ""
        out = re.sub(rf"(?<![A-Za-z_]){re.escape(phrase)}{tail}", chinese, out)
    return out
