"""Who may see what: the viewer's scope and masking of personal data on screen
(the audit log of every export of names is written by :mod:`analytics.writes`).

Personal-data rules (shared/domain.md, "Rules from practice"): cadres see their
own grid only; leaders see aggregates only (no names, no ID numbers); the HR
bureau sees everything. Every export of names is logged.

The system administrator (``admin``, 等保 2.0 三员分立: the one who keeps the
accounts and reads the audit log) sees aggregates only, as a leader does: running
the system is no reason to read a person's data (PIPL minimum necessary).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = {"leader": "领导", "bureau": "人社局", "cadre": "社区专干", "admin": "系统管理员"}
# The roles that may read person-level data (names, ID numbers): the bureau, and
# a cadre inside their grid.
NAME_ROLES = ("bureau", "cadre")
# The roles that read the audit log (安全审计): the administrator and the bureau.
AUDIT_ROLES = ("admin", "bureau")


class AccessDenied(PermissionError):
    """The viewer's role or grid does not allow this read."""


@dataclass(frozen=True)
class Scope:
    """What one viewer may read.

    ``grid`` lists the street (9-digit) or community (12-digit) codes a cadre
    works in; ``None`` means the whole region (leaders, the bureau, the
    administrator).

    >>> Scope.cadre(["530181001001"]).covers("530181001001")
    True
    >>> Scope.cadre(["530181001"]).covers("530181002001")
    False
    """

    role: str
    grid: tuple[str, ...] | None = None
    user: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {sorted(ROLES)}")
        if self.role == "cadre" and not self.grid:
            raise ValueError("a cadre's scope needs the codes of their grid")
        if self.grid is not None:
            bad = [c for c in self.grid if not (c.isdigit() and len(c) in (9, 12))]
            if bad:
                raise ValueError(f"grid codes must be 9 or 12 digits, got {bad}")

    @classmethod
    def leader(cls, user: str = "") -> Scope:
        return cls("leader", None, user)

    @classmethod
    def bureau(cls, user: str = "") -> Scope:
        return cls("bureau", None, user)

    @classmethod
    def admin(cls, user: str = "") -> Scope:
        return cls("admin", None, user)

    @classmethod
    def cadre(cls, grid: list[str] | tuple[str, ...], user: str = "") -> Scope:
        return cls("cadre", tuple(sorted(set(grid))), user)

    @property
    def sees_names(self) -> bool:
        """Leaders and the administrator see aggregates only."""
        return self.role in NAME_ROLES

    @property
    def reads_audit(self) -> bool:
        """Whether this viewer may read the audit log."""
        return self.role in AUDIT_ROLES

    @property
    def codes(self) -> list[str] | None:
        """Grid codes as a list for a bound SQL parameter; None for all."""
        return list(self.grid) if self.grid is not None else None

    def covers(self, community_code: str | None) -> bool:
        if self.grid is None:
            return True
        return bool(community_code) and any(community_code.startswith(c) for c in self.grid)

    def require_names(self) -> None:
        if not self.sees_names:
            raise AccessDenied(
                f"{ROLES[self.role]}账号只能查看汇总数据，不能查看个人信息 "
                f"({self.role} sees aggregates only)"
            )

    def require_audit(self) -> None:
        if not self.reads_audit:
            raise AccessDenied(
                f"{ROLES[self.role]}账号不能查看审计日志 (the audit log is for admin and bureau)"
            )

    def describe(self) -> str:
        grid = "全市" if self.grid is None else "、".join(self.grid)
        return f"{ROLES[self.role]}:{grid}"


# SQL condition "the row's community_code lies in the scope's grid"; bind $grid
# to Scope.codes (NULL = everything).
SCOPE_SQL = (
    "($grid IS NULL OR len(list_filter($grid, lambda g: starts_with(coalesce({col}, ''), g))) > 0)"
)


def scope_condition(col: str = "community_code") -> str:
    return SCOPE_SQL.format(col=col)


def mask_id(id_number: str | None, head: int = 4) -> str:
    """An ID number shown on screen: the first ``head`` (4) and last 4 characters.
    The audit log keeps the county code (``head=6``), as the data contract's
    example of a person_view's detail does.

    >>> mask_id("530181198001010011")
    '5301**********0011'
    >>> mask_id("34172119800101123X", head=6)
    '341721********123X'
    """
    if not isinstance(id_number, str) or not id_number:
        return ""
    s = id_number
    if len(s) <= head + 4:
        return "*" * len(s)
    return s[:head] + "*" * (len(s) - head - 4) + s[-4:]


def mask_phone(phone: str | None) -> str:
    """A phone number shown on screen: the first 3 and last 4 digits.

    >>> mask_phone("13812345678")
    '138****5678'
    """
    if not isinstance(phone, str) or not phone.strip():
        return ""
    s = phone.strip()
    if len(s) <= 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


# The characters Python's str.strip() removes (str.isspace), as an RE2 class:
# mask_phone_sql trims exactly what mask_phone does.
_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _SPACES) + "]"


def _masked_sql(text: str, head: int) -> str:
    return (
        f"CASE WHEN coalesce({text}, '') = '' THEN '' "
        f"WHEN length({text}) <= {head + 4} THEN repeat('*', length({text})) "
        f"ELSE left({text}, {head}) || repeat('*', length({text}) - {head + 4}) "
        f"|| right({text}, 4) END"
    )


def mask_id_sql(col: str, head: int = 4) -> str:
    """:func:`mask_id` of the text column ``col`` as a DuckDB expression (a
    million rows masked in the query, not one Python call each)."""
    return _masked_sql(col, head)


def mask_phone_sql(col: str) -> str:
    """:func:`mask_phone` of the text column ``col`` as a DuckDB expression."""
    trimmed = f"regexp_replace({col}, '^{_SPACE_CLASS}+|{_SPACE_CLASS}+$', '', 'g')"
    return _masked_sql(trimmed, 3)
