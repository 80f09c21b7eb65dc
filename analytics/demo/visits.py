"""Cadres' visits: the 入户调查 rows of the visits made during a quarter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.demo.frames import _frame
from analytics.demo.reference import _NOT_INSURED_REASONS
from analytics.demo.world import World


def make_visits(
    w: World,
    t: int,
    who: np.ndarray,
    ttype: np.ndarray,
    success: np.ndarray,
    tr: dict[str, np.ndarray],
) -> None:
    """入户调查 rows of the visits made during quarter t+1 (they go in batch t+1)."""
    rng = w.rng
    k = len(who)
    res = np.empty(k, dtype=object)
    u = rng.random(k)
    res[:] = np.where(
        u < 0.35,
        "考虑中",
        np.where(
            u < 0.6,
            "拒绝",
            np.where(u < 0.8, "联系不上", np.where(u < 0.92, "同意参保", "已在外地参保")),
        ),
    )
    res[(ttype != 1) & (res == "已在外地参保")] = "考虑中"
    ok = success
    res[ok] = np.where(
        rng.random(ok.sum()) < 0.7,
        "同意参保",
        np.where(
            ttype[ok] == 1,
            np.where(w.reg[who[ok]] > 0, "已在外地参保", "已参保"),
            "同意参保",
        ),
    )
    # A few visits go to people who are already insured (checking the list).
    legal_ins = np.flatnonzero(tr["legal"] & tr["insured"] & (tr["target"] == 0))
    extra = (
        rng.choice(legal_ins, min(len(legal_ins), max(1, k // 8)), replace=False)
        if len(legal_ins)
        else legal_ins
    )
    all_who = np.concatenate([who, extra])
    all_res = np.concatenate([res, np.where(w.reg[extra] > 0, "已在外地参保", "已参保")])
    m = len(all_who)
    will = (
        pd.Series(all_res)
        .map({"同意参保": "愿意", "考虑中": "一般", "拒绝": "不愿意"})
        .fillna("")
        .to_numpy()
    )
    reason = np.where(
        np.isin(all_res, ("考虑中", "拒绝")), _NOT_INSURED_REASONS[rng.integers(0, 6, m)], ""
    )
    inc = w.people.income.to_numpy()[all_who]
    ability = np.where(inc > 50000, "强", np.where(inc > 20000, "一般", "弱"))
    ability = np.where(all_res == "联系不上", "", ability)
    phone = np.char.add(
        "1",
        np.char.add(
            rng.choice(list("3456789"), m),
            np.char.zfill(rng.integers(0, 10**9, m).astype(str), 9),
        ),
    )
    comm = w.people.comm.to_numpy()[all_who]
    surveyor = w.cadres[2 * comm + rng.integers(0, 2, m)]
    w.visits = _frame(
        {
            "id_number": w.ids[all_who],
            "name": w.names[all_who],
            "survey_date": w.random_days_in_quarter(t + 1, m).astype("datetime64[ns]"),
            "result": all_res,
            "willingness": will,
            "reason": reason,
            "ability_to_pay": ability,
            "phone": phone,
            "surveyor": surveyor,
            "_pi": all_who,
            "_street": w.street[all_who],
        }
    )
