"""Check characters: GB 11643-1999 (IDs), GB 32100-2015 (credit codes), GB 11714-1997
(organisation codes).

The demo keeps its own copy of this arithmetic: it is the oracle the product's own
implementation is checked against, so it must not share it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])


def _char_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width ASCII strings as an (n, width) array of byte codes."""
    return np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def id_check_chars(first17: np.ndarray) -> np.ndarray:
    """GB 11643 check character for each 17-digit body.

    >>> id_check_chars(np.array(["11010519491231002"]))[0]
    'X'
    """
    digits = _char_matrix(first17, 17).astype(np.int64) - 48
    return _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]


def uscc_check_chars(first17: np.ndarray) -> np.ndarray:
    """GB 32100 check character: (31 - weighted sum mod 31) mod 31 in the code's charset."""
    lookup = np.full(128, -1, dtype=np.int64)
    for i, c in enumerate(USCC_CHARS):
        lookup[ord(c)] = i
    vals = lookup[_char_matrix(first17, 17)]
    return np.array(list(USCC_CHARS))[(31 - (vals * _USCC_WEIGHTS).sum(axis=1) % 31) % 31]


def _org_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """GB 11714 organisation codes (8 characters + check), the body of a credit code."""
    chars = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    idx = rng.integers(0, 10, size=(n, 8))  # digits only: simplest valid bodies
    idx[:, :2] = rng.integers(0, len(chars), size=(n, 2))
    body = chars[idx]
    vals = np.vectorize(lambda c: int(c, 36))(body)
    c9 = 11 - (vals * _ORG_WEIGHTS).sum(axis=1) % 11
    check = np.where(c9 == 10, "X", np.where(c9 == 11, "0", c9.astype(str)))
    return np.char.add(np.array(["".join(r) for r in body]), check)


def make_usccs(
    rng: np.random.Generator,
    n: int,
    kind: np.ndarray,
    county: np.ndarray,
    taken: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Unique credit codes: '92' individual business or '91' company, county code, org
    code, check; none of them ``taken`` (issued by earlier shards).

    A repeat (a few in a million people: the org codes are drawn at random) is drawn
    again from a generator of its own, spawned from ``rng``'s seed, so a run without
    repeats takes from ``rng`` exactly what it took before repeats were checked."""
    prefix = np.where(kind == "个体工商户", "92", "91")
    first17 = np.char.add(np.char.add(prefix, county), _org_codes(rng, n))
    codes = np.char.add(first17, uscc_check_chars(first17))
    again: np.random.Generator | None = None
    while True:
        repeat = np.ones(n, dtype=bool)
        repeat[np.unique(codes, return_index=True)[1]] = False
        if taken is not None:
            repeat |= taken(codes)
        if not repeat.any():
            return codes
        if again is None:
            again = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
        body = np.char.add(
            np.char.add(prefix[repeat], county[repeat]), _org_codes(again, int(repeat.sum()))
        )
        codes[repeat] = np.char.add(body, uscc_check_chars(body))


def _id_with_check(first17: np.ndarray) -> np.ndarray:
    return np.char.add(first17, id_check_chars(first17))


def _wrong_check(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Same body, a different (hence wrong) check character."""
    right = np.array([s[17] for s in ids])
    shift = rng.integers(1, 11, len(ids))
    pos = np.searchsorted(np.array(sorted(_ID_CHECK)), right)
    wrong = np.array(sorted(_ID_CHECK))[(pos + shift) % 11]
    return np.char.add(np.array([s[:17] for s in ids]), wrong)
