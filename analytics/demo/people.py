"""People: everyone ever in the region, with names, IDs and latent traits."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from analytics.demo.checks import _id_with_check
from analytics.demo.geography import Geography
from analytics.demo.reference import (
    _GIVEN_FEMALE,
    _GIVEN_MALE,
    _HUKOU_OTHER_PREFIXES,
    _PYRAMID,
    _PYRAMID_MIGRANT,
    _RESIDENCE_PREFIXES,
    _SURNAMES,
    QUARTER_ENDS,
    REGION_CODE,
)


def _names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    n = len(male)
    zipf = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
    sur = np.array(list(_SURNAMES))[rng.choice(len(_SURNAMES), n, p=zipf / zipf.sum())]
    gm, gf = np.array(list(_GIVEN_MALE)), np.array(list(_GIVEN_FEMALE))
    g1 = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    g2 = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    two = rng.random(n) < 0.7
    return np.char.add(np.char.add(sur, g1), np.where(two, g2, ""))


def _make_ids(
    rng: np.random.Generator,
    prefix: np.ndarray,
    birth: np.ndarray,
    male: np.ndarray,
    taken: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Unique valid 18-digit IDs; the 17th digit is odd for men (GB 11643).

    ``taken`` says which 17-digit bodies are issued already (by earlier shards):
    those are drawn again like repeats, so IDs stay unique across the region."""
    ymd = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "")
    n = len(prefix)
    seq = rng.integers(0, 100, n)
    sexd = rng.integers(0, 5, n) * 2 + male.astype(int)

    def bodies(i: np.ndarray | slice) -> np.ndarray:
        return np.char.add(
            np.char.add(prefix[i], ymd[i]),
            np.char.add(np.char.zfill(seq[i].astype(str), 2), sexd[i].astype(str)),
        )

    body = bodies(slice(None))
    drawn = np.arange(n)  # the bodies drawn last round: only they can be taken
    while True:
        dup = pd.Series(body).duplicated().to_numpy().copy()
        if taken is not None and len(drawn):
            dup[drawn] |= taken(body[drawn])
        if not dup.any():
            return _id_with_check(body)
        seq[dup] = rng.integers(0, 100, dup.sum())
        sexd[dup] = rng.integers(0, 5, dup.sum()) * 2 + male[dup].astype(int)
        drawn = np.flatnonzero(dup)
        body[drawn] = bodies(drawn)


def make_people(
    rng: np.random.Generator,
    n: int,
    geo: Geography,
    taken_ids: Callable[[np.ndarray], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Every person ever in the region, with latent traits the files never show.

    ``taken_ids``: the ID bodies earlier shards issued (see :func:`_make_ids`)."""
    d0 = np.datetime64(QUARTER_ENDS[0].isoformat())
    resonly = rng.random(n) < 0.15
    both = ~resonly & (rng.random(n) < 0.01)
    u = rng.random(n)
    arrival = np.where(u < 0.035, 1, np.where(u < 0.07, 2, 0))
    comms = geo.communities
    w_h = comms.weight.to_numpy()
    w_r = w_h * np.where(comms.urban, 3.0, 0.5)  # residence permits cluster in town
    comm = np.where(
        resonly,
        rng.choice(len(comms), n, p=w_r / w_r.sum()),
        rng.choice(len(comms), n, p=w_h / w_h.sum()),
    )
    res_comm = np.where(both, rng.choice(len(comms), n, p=w_r / w_r.sum()), comm)
    res_comm = np.where(both & (res_comm == comm), (comm + 1) % len(comms), res_comm)
    band = np.where(
        resonly,
        rng.choice(20, n, p=_PYRAMID_MIGRANT / _PYRAMID_MIGRANT.sum()),
        rng.choice(20, n, p=_PYRAMID / _PYRAMID.sum()),
    )
    age_days = ((band * 5 + rng.random(n) * 5) * 365.2425).astype(int)
    birth = d0 - age_days.astype("timedelta64[D]")
    male = rng.random(n) < 0.51
    hukou_prefix = np.where(
        rng.random(n) < 0.88,
        REGION_CODE,
        np.array(_HUKOU_OTHER_PREFIXES)[rng.integers(0, len(_HUKOU_OTHER_PREFIXES), n)],
    )
    res_prefix = np.array(_RESIDENCE_PREFIXES)[rng.integers(0, len(_RESIDENCE_PREFIXES), n)]
    prefix = np.where(resonly, res_prefix, hukou_prefix)
    # Newcomers moving their hukou in were born elsewhere.
    prefix = np.where(~resonly & (arrival > 0), res_prefix, prefix)
    ids = _make_ids(rng, prefix, birth, male, taken_ids)
    urban = comms.urban.to_numpy()[comm]
    income = np.exp(rng.normal(np.where(urban, math.log(36000), math.log(24000)), 0.6))
    # Year from which the person has left (hukou moved out / permit not renewed); 99 = stays.
    ug = rng.random(n)
    gone = np.where(
        resonly,
        np.where(ug < 0.10, 1, np.where(ug < 0.20, 2, 99)),
        np.where(ug < 0.008, 1, np.where(ug < 0.016, 2, 99)),
    )
    gone = np.where(gone <= arrival, 99, gone)
    edu_end = rng.choice([16, 19, 22], n, p=[0.2, 0.35, 0.45])
    return pd.DataFrame(
        {
            "id_number": ids,
            "name": _names(rng, male),
            "male": male,
            "birth": birth,
            "comm": comm,
            "res_comm": res_comm,
            "street": comms.street_idx.to_numpy()[comm],
            "urban": urban,
            "resonly": resonly,
            "both": both,
            "arrival": arrival,
            "gone": gone,
            "income": income,
            "edu_end": edu_end,
        }
    )
