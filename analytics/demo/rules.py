"""The registry's rules applied to the clean data: legal population, groups, targets, KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.demo.reference import (
    _C,
    _ENT,
    _GROUP_BITS,
    _HK_DEAD,
    _HK_NONE,
    _HK_OUT,
    _P,
    _RES,
    _S,
    _UPGRADE_GROUPS,
    QUARTER_ENDS,
    REGION_CODE,
)
from analytics.demo.world import World
from analytics.demo.yearly import group3, year_lists


def truth_at(w: World, t: int) -> dict[str, np.ndarray]:
    """Legal population, groups, enrollment flags and target type at quarter end t."""
    y = t // 4
    lists = year_lists(w, y)
    d = w.day(t)
    groups = lists.groups_static | group3(w, lists, t)
    pop = (lists.hukou_status != _HK_NONE) | lists.residence
    dead = (w.death_q <= t) | (lists.hukou_status == _HK_DEAD)
    serving = ~np.isnat(lists.inmate_release) & (lists.inmate_release >= d)
    legal = (
        pop & (w.age(t) >= 16) & ~dead & (lists.hukou_status != _HK_OUT) & ~lists.student & ~serving
    )
    st, sch, dst, dsch = w.st, w.sch, w.dst, w.dsch
    insured = np.isin(st, (_C, _S, _P)) | np.isin(dst, (_C, _S, _P))
    contrib = (st == _C) | (dst == _C)
    emp_contrib = ((st == _C) & (sch >= _ENT)) | ((dst == _C) & (dsch >= _ENT))
    res_contrib = ((st == _C) & (sch == _RES)) | ((dst == _C) & (dsch == _RES))
    drawing = (st == _P) | (dst == _P)
    dup_active = np.isin(dst, (_C, _P))
    upg_groups = (groups & sum(_GROUP_BITS[k] for k in _UPGRADE_GROUPS)) != 0
    enroll = legal & ~insured
    resume = legal & ~enroll & (st == _S) & ~dup_active
    upgrade = (
        legal
        & ~enroll
        & ~resume
        & res_contrib
        & ~emp_contrib
        & ~drawing
        & upg_groups
        & ((groups & _GROUP_BITS[7]) == 0)
    )
    target = np.where(enroll, 1, np.where(upgrade, 2, np.where(resume, 3, 0))).astype(np.int8)
    return {
        "legal": legal,
        "groups": groups,
        "insured": insured,
        "contrib": contrib,
        "emp_contrib": emp_contrib,
        "target": target,
        "present": lists.present,
    }


def record_kpi(w: World, t: int, tr: dict[str, np.ndarray]) -> None:
    legal = tr["legal"]
    df = pd.DataFrame(
        {
            "community": w.comm_codes[w.people.comm.to_numpy()[legal]],
            "legal_population": 1,
            "insured": tr["insured"][legal].astype(int),
            "contributors": tr["contrib"][legal].astype(int),
            "employee_contributors": tr["emp_contrib"][legal].astype(int),
        }
    )
    df["street"] = df.community.str[:9]
    cols = ["legal_population", "insured", "contributors", "employee_contributors"]
    parts = [
        df[cols].sum().to_frame().T.assign(code=REGION_CODE),
        df.groupby("street")[cols].sum().reset_index().rename(columns={"street": "code"}),
        df.groupby("community")[cols].sum().reset_index().rename(columns={"community": "code"}),
    ]
    k = pd.concat(parts, ignore_index=True)
    k.insert(0, "as_of", QUARTER_ENDS[t].isoformat())
    k["coverage_rate"] = k.insured / k.legal_population
    k["structure_ratio"] = k.employee_contributors / k.contributors
    w.kpi_rows.append(k[["as_of", "code", *cols, "coverage_rate", "structure_ratio"]])
