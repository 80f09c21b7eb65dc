"""Check digits of the two national keys: the citizen ID (GB 11643-1999) and the
unified social credit code (GB 32100-2015).

Both functions are pure and take a value that is already trimmed and folded to
half-width (see :mod:`analytics.textnorm`).
"""

from __future__ import annotations

import datetime as dt
from operator import mul

# GB 11643-1999 §7.2: weights W_i = 2^(i-1) mod 11 for positions 17..1,
# and the check character for each value of the sum mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

# GB 32100-2015 §4.3: the 31 characters (no I, O, S, V, Z) and the weights 3^(i-1) mod 31.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARS)}
# The standard's own example 440524188001010014 was born in 1880.
MIN_BIRTH_YEAR = 1800


def id_check_digit(first17: str) -> str:
    """Check character of an 18-digit ID from its first 17 digits.

    >>> id_check_digit("11010519491231002")
    'X'
    """
    if len(first17) != 17:
        raise ValueError("an ID's check digit needs its first 17 digits")
    total = sum(map(mul, ID_WEIGHTS, map(int, first17)))
    return ID_CHECK[total % 11]


def _real_date(yyyymmdd: str) -> bool:
    try:
        day = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    # The standard's own example 440524188001010014 was born in 1880: any real
    # calendar date from the 1800s on is a birth date the code can carry.
    return day.year >= MIN_BIRTH_YEAR


def normalize_id(value: str) -> str | None:
    """The 18-digit ID for a written ID number, or None when it is not valid.

    A 15-digit number (issued before 1999) is upgraded: "19" goes after the
    six-digit address code and the check digit is computed.

    >>> normalize_id("11010519491231002x")
    '11010519491231002X'
    >>> normalize_id("110105491231002")
    '11010519491231002X'
    >>> normalize_id("110105194912310020") is None
    True
    """
    if len(value) == 15 and value.isascii() and value.isdigit():
        value = value[:6] + "19" + value[6:]
        value += id_check_digit(value)
    elif len(value) == 18 and value.isascii() and value[:17].isdigit():
        value = value[:17] + value[17].upper()
        if value[17] != id_check_digit(value[:17]):
            return None
    else:
        return None
    return value if _real_date(value[6:14]) else None


def birth_date(id18: str) -> dt.date:
    """Birth date carried by a valid 18-digit ID."""
    return dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


def gender(id18: str) -> str:
    """男 or 女 from the 17th digit (odd for men), as GB 11643 §6.4 sets it."""
    return "男" if int(id18[16]) % 2 else "女"


def uscc_check_char(first17: str) -> str:
    """Check character of a credit code from its first 17 characters.

    >>> uscc_check_char("91350100M000100Y4")
    '3'
    """
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str | None:
    """The credit code upper-cased, or None when it fails GB 32100.

    >>> normalize_uscc("91350100m000100y43")
    '91350100M000100Y43'
    >>> normalize_uscc("91350100M000100Y44") is None
    True
    """
    value = value.upper()
    if len(value) != 18 or any(c not in _USCC_VALUE for c in value):
        return None
    return value if value[17] == uscc_check_char(value[:17]) else None


def normalize_ids(values: list[str]) -> list[str | None]:
    """:func:`normalize_id` over many values; 18-character ones are checked with
    numpy in one pass (the common case in files of 10^5..10^7 rows)."""
    import numpy as np

    out: list[str | None] = [None] * len(values)
    fast = [i for i, v in enumerate(values) if len(v) == 18 and v.isascii()]
    for i in set(range(len(values))) - set(fast):
        out[i] = normalize_id(values[i])
    if not fast:
        return out
    raw = np.frombuffer("".join(values[i] for i in fast).encode("ascii"), dtype=np.uint8).reshape(
        -1, 18
    )
    digits = raw[:, :17].astype(np.int64) - 48
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
    check = np.frombuffer(ID_CHECK.encode("ascii"), dtype=np.uint8)[
        (digits @ np.array(ID_WEIGHTS)) % 11
    ]
    last = raw[:, 17].copy()
    last[last == ord("x")] = ord("X")
    ok &= last == check
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    ok &= (year >= MIN_BIRTH_YEAR) & (month >= 1) & (month <= 12) & (day >= 1)
    # Day within its month, leap years included: the first of the next month minus one day.
    safe = ok.nonzero()[0]
    first = (year[safe] - 1970) * 12 + (month[safe] - 1)
    days_in_month = (
        np.array(first + 1, dtype="datetime64[M]").astype("datetime64[D]")
        - np.array(first, dtype="datetime64[M]").astype("datetime64[D]")
    ).astype(np.int64)
    ok[safe] &= day[safe] <= days_in_month
    for k, i in enumerate(fast):
        if ok[k]:
            v = values[i]
            out[i] = v if v[17] != "x" else v[:17] + "X"
    return out
