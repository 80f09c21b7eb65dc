"""The yearly (Q1) department lists: who is on them, their groups and exclusions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.demo.reference import (
    _FREELANCE_PRACTICE,
    _GROUP_BITS,
    _GROUP_OCCUPATIONS,
    _HK_DEAD,
    _HK_NONE,
    _HK_NORMAL,
    _HK_OUT,
)
from analytics.demo.world import World, _YearLists


def year_lists(w: World, y: int) -> _YearLists:
    if y in w.years:
        return w.years[y]
    p, lat, rng = w.people, w.latent, w.rng
    t0 = 4 * y
    d = w.day(t0)
    arrival, gone = p.arrival.to_numpy(), p.gone.to_numpy()
    resonly, both = p.resonly.to_numpy(), p.both.to_numpy()
    present = (arrival <= y) & (gone > y) & (w.death_q > t0)
    hk = np.full(w.n, _HK_NONE, dtype=np.int8)
    on_hukou = ~resonly & (arrival <= y) & (gone >= y) & (w.death_q > t0 - 4)
    hk[on_hukou] = np.where(
        w.death_q[on_hukou] <= t0,
        _HK_DEAD,
        np.where(gone[on_hukou] == y, _HK_OUT, _HK_NORMAL),
    )
    residence = (resonly | both) & present
    age = w.age(t0)
    student = present & (age >= 15) & (age < p.edu_end.to_numpy())
    inmate = present & lat.attrs["inmate"] & (lat.attrs["release_date"] > d)
    release = np.where(inmate, lat.attrs["release_date"], np.datetime64("NaT"))
    m = {k: v[:, y] & present for k, v in lat.member.items()}
    g = np.zeros(w.n, dtype=np.int16)
    ent = w.entities
    ok = np.isin(ent.status[:, y], ("存续", "在业")) & (ent.tax_status[:, y] == "正常")
    g[ent.table.operator.to_numpy()[ok]] |= _GROUP_BITS[1]
    cat = lat.attrs["category"]
    g[m["landless"] | (m["other_eligible"] & np.isin(cat, ("村社区干部", "乡村医生")))] |= (
        _GROUP_BITS[2]
    )
    g[m["platform_worker"] & np.isin(lat.attrs["occupation"], _GROUP_OCCUPATIONS)] |= _GROUP_BITS[4]
    g[m["licensed_professional"] & np.isin(lat.attrs["practice_type"], _FREELANCE_PRACTICE)] |= (
        _GROUP_BITS[5]
    )
    income = np.where(
        m["income_assets"],
        np.round(p.income.to_numpy() * 1.05**y * np.exp(rng.normal(0, 0.08, w.n)), -2),
        0,
    )
    g[income >= 60000] |= _GROUP_BITS[6]
    g7 = (
        m["dibao"]
        | m["tekun"]
        | m["fanpin"]
        | (m["disability"] & np.isin(lat.attrs["disability_level"], ("一级", "二级")))
    )
    g[g7] |= _GROUP_BITS[7]
    g[
        m["other_eligible"]
        & np.isin(cat, ("基层服务项目高校毕业生", "民办学校教职工", "机关事业单位编外人员"))
    ] |= _GROUP_BITS[8]
    # Employment start: kept while someone stays on the list, new when they (re)join.
    start = np.full(w.n, np.datetime64("NaT"), dtype="datetime64[D]")
    mw = m["migrant_worker"]
    if y == 0:
        start[mw] = d - rng.integers(0, 8 * 365, mw.sum()).astype("timedelta64[D]")
    else:
        prev = w.years[y - 1].migrant_start
        keep = mw & ~np.isnat(prev)
        start[keep] = prev[keep]
        new = mw & np.isnat(prev)
        start[new] = d - rng.integers(1, 365, new.sum()).astype("timedelta64[D]")
    lists = _YearLists(hk, residence, student, release, g, start, income.astype(np.int64), present)
    w.years[y] = lists
    return lists


def group3(w: World, lists: _YearLists, t: int) -> np.ndarray:
    """Group 3 needs employment_start + 6 months <= D (month arithmetic, clamped)."""
    s = lists.migrant_start
    ok = ~np.isnat(s)
    g = np.zeros(w.n, dtype=np.int16)
    six = (pd.DatetimeIndex(s[ok]) + pd.DateOffset(months=6)).to_numpy().astype("datetime64[D]")
    idx = np.flatnonzero(ok)
    g[idx[six <= w.day(t)]] = _GROUP_BITS[3]
    return g
