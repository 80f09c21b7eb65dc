"""Enrollment: the initial state, the terms of new enrollments and the targeted moves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics.demo.dates import _dates_from_days
from analytics.demo.model import _sigmoid
from analytics.demo.reference import (
    _C,
    _ENT,
    _GROUP_BITS,
    _INST,
    _NONE,
    _OTHER_PENSION_REGIONS,
    _P,
    _RES,
    _RESIDENT_GRADE_P,
    _RESIDENT_GRADES,
    _S,
    _UPGRADE_GROUPS,
)
from analytics.demo.world import World
from analytics.demo.yearly import group3, year_lists


def init_state(w: World) -> None:
    rng, n, p = w.rng, w.n, w.people
    age = w.age(0)
    lists = year_lists(w, 0)
    g = lists.groups_static | group3(w, lists, 0)
    has = lambda k: (g & _GROUP_BITS[k]) != 0
    upg = np.zeros(n, dtype=bool)
    for k in _UPGRADE_GROUPS:
        upg |= has(k)
    zi = (np.log(p.income.to_numpy()) - math.log(30000)) / 0.6
    cov = w.geo.streets["cov_eff"].to_numpy()[w.street]
    stru = w.geo.streets["str_eff"].to_numpy()[w.street]
    resonly = p.resonly.to_numpy()
    newcomer = p.arrival.to_numpy() > 0
    logit = (
        2.2
        + cov
        + 0.4 * w.urban
        + 1.8 * has(7)
        + 0.5 * has(2)
        - 0.9 * has(3)
        - 0.8 * has(4)
        + 0.3 * zi
        - 0.5 * resonly
        - 1.3 * (age < 25)
        - 0.4 * ((age >= 25) & (age < 35))
        + 0.7 * (age >= 60)
        - 2.5 * lists.student
    )
    insured = (age >= 16) & (rng.random(n) < _sigmoid(logit))
    emp_logit = -2.0 + stru + 0.9 * w.urban + 0.9 * zi - 1.4 * upg - 3.0 * has(7) - 0.5 * resonly
    emp = rng.random(n) < _sigmoid(emp_logit)
    inst = emp & w.urban & (rng.random(n) < 0.14)
    sch = np.where(insured, np.where(emp, np.where(inst, _INST, _ENT), _RES), 0).astype(np.int8)
    elsewhere = insured & (
        rng.random(n)
        < np.where(newcomer, 1.0, np.where(resonly, 0.45, np.where(has(3), 0.15, 0.03)))
    )
    w.sch = sch
    w.reg = np.where(elsewhere, rng.integers(1, len(_OTHER_PENSION_REGIONS) + 1, n), 0).astype(
        np.int16
    )
    w.reg12 = rng.random(n) < 0.15
    retired = age >= w.retire_age(sch)
    lapsed = rng.random(n) < 0.10
    w.st = np.where(~insured, _NONE, np.where(retired, _P, np.where(lapsed, _S, _C))).astype(
        np.int8
    )
    w.lapse_t = np.where(w.st == _S, -rng.integers(1, 13, n), 0).astype(np.int16)
    w.grade = np.zeros(n, dtype=np.int32)
    w.base = np.zeros(n, dtype=np.int32)
    w.employer = np.full(n, -1, dtype=np.int32)
    w.start = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    assign_terms(w, np.flatnonzero(insured), g, initial=True)
    # Old terminated enrollments of some uninsured people (they once paid, then stopped).
    w.tsch = np.where(~insured & (age >= 25) & (rng.random(n) < 0.12), _RES, 0).astype(np.int8)
    w.treg = np.zeros(n, dtype=np.int16)
    # Duplicate enrollments (重复参保): a second active scheme or region for a few people.
    w.dsch = np.zeros(n, dtype=np.int8)
    w.dst = np.zeros(n, dtype=np.int8)
    w.dreg = np.zeros(n, dtype=np.int16)
    dup = insured & ~newcomer & (rng.random(n) < 0.005)
    kind = rng.integers(0, 3, n)
    a = dup & (w.st == _C) & (sch >= _ENT) & (kind == 0)  # employee here + residents' scheme here
    b = dup & (w.st == _C) & (sch == _RES) & (kind == 1)  # residents' scheme in two regions
    c = dup & (w.st == _P) & (kind == 2)  # drawing a pension and paying elsewhere
    w.dsch[a], w.dst[a], w.dreg[a] = _RES, _C, w.reg[a]
    w.dsch[b], w.dst[b] = _RES, _C
    w.dreg[b] = (w.reg[b] % len(_OTHER_PENSION_REGIONS)) + 1
    w.dsch[c], w.dst[c] = _RES, _C
    w.dreg[c] = (w.reg[c] % len(_OTHER_PENSION_REGIONS)) + 1


def assign_terms(
    w: World, who: np.ndarray, groups: np.ndarray, initial: bool = False, t: int = 0
) -> None:
    """Grade, base, employer and start date of new enrollments of ``who``."""
    rng, k = w.rng, len(who)
    if not k:
        return
    res = w.sch[who] == _RES
    g7 = (groups[who] & _GROUP_BITS[7]) != 0
    p = _RESIDENT_GRADE_P / _RESIDENT_GRADE_P.sum()
    grade = _RESIDENT_GRADES[rng.choice(len(p), k, p=p)]
    w.grade[who] = np.where(res, np.where(g7, 100, grade), 0)  # 代缴 pays the lowest grade
    inc = w.people.income.to_numpy()[who]
    base = np.clip(inc / 12 * rng.uniform(0.6, 1.0, k), 4000, 25000) // 10 * 10
    w.base[who] = np.where(res, 0, base).astype(np.int32)
    # Employers: local firms for some employees, the own business for some operators,
    # a firm elsewhere for some, none (灵活就业) for the rest.
    ent = w.entities.table
    firms = np.flatnonzero(ent.entity_type.to_numpy() == "有限责任公司")
    own = pd.Series(np.arange(len(ent)), index=ent.operator.to_numpy())
    own = own[~own.index.duplicated()]
    emp = ~res & (w.sch[who] == _ENT)
    u = rng.random(k)
    has_own = np.isin(who, own.index.to_numpy())
    local = w.reg[who] == 0
    choice = np.full(k, -1, dtype=np.int32)
    pick_own = emp & has_own & (u < 0.4)
    choice[pick_own] = own.reindex(who[pick_own]).to_numpy()
    pick_firm = emp & local & ~pick_own & (u < 0.5) & (len(firms) > 0)
    if len(firms):
        choice[pick_firm] = firms[rng.integers(0, len(firms), pick_firm.sum())]
    pick_ext = emp & ~pick_own & ~pick_firm & (u > 0.9)
    choice[pick_ext] = -2 - rng.integers(0, len(w.ext_usccs), pick_ext.sum())
    w.employer[who] = choice
    if initial:
        lo = np.maximum(
            w.birth[who].astype(int) + 16 * 365 + 5, np.datetime64("1995-01-01").astype(int)
        )
        hi = w.day(0).astype(int)
        w.start[who] = _dates_from_days(rng.integers(np.minimum(lo, hi - 1), hi))
    else:
        w.start[who] = w.random_days_in_quarter(t, k)


def apply_moves(w: World, t: int, who: np.ndarray, ttype: np.ndarray, groups: np.ndarray) -> None:
    rng = w.rng
    enroll, upgrade, resume = who[ttype == 1], who[ttype == 2], who[ttype == 3]
    w.st[resume] = _C
    # Upgrade: the residents' enrollment ends, an employee enrollment starts in the same region.
    assert (w.sch[upgrade] == _RES).all() and (w.st[upgrade] == _C).all()
    w.tsch[upgrade], w.treg[upgrade] = _RES, w.reg[upgrade]
    w.sch[upgrade] = np.where(rng.random(len(upgrade)) < 0.05, _INST, _ENT)
    assign_terms(w, upgrade, groups, t=t + 1)
    # Enroll: 60+ buy in to the residents' scheme and draw at once (补缴); others choose.
    g = groups[enroll]
    age = w.age(t + 1)[enroll]
    zi = (np.log(w.people.income.to_numpy()[enroll]) - math.log(30000)) / 0.6
    able = (
        g & (_GROUP_BITS[1] | _GROUP_BITS[4] | _GROUP_BITS[5] | _GROUP_BITS[6] | _GROUP_BITS[8])
    ) != 0
    emp = (
        (age < 60)
        & ((g & _GROUP_BITS[7]) == 0)
        & (rng.random(len(enroll)) < _sigmoid(-1.3 + 0.9 * w.urban[enroll] + 0.8 * zi + 0.8 * able))
    )
    w.sch[enroll] = np.where(emp, _ENT, _RES)
    w.st[enroll] = np.where(age >= 60, _P, _C)
    away = np.where(
        (g & _GROUP_BITS[3]) != 0,
        0.35,
        np.where(w.people.resonly.to_numpy()[enroll], 0.3, 0.03),
    )
    w.reg[enroll] = np.where(
        rng.random(len(enroll)) < away,
        rng.integers(1, len(_OTHER_PENSION_REGIONS) + 1, len(enroll)),
        0,
    )
    same = (w.tsch[enroll] == w.sch[enroll]) & (w.treg[enroll] == w.reg[enroll])
    w.tsch[enroll[same]] = 0  # re-enrolling reopens the old record
    assign_terms(w, enroll, groups, t=t + 1)
