"""One quarter of behaviour: deaths, targeted moves (with visits), lapses and retirements."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics.demo.enrollment import apply_moves
from analytics.demo.model import MODEL, _sigmoid
from analytics.demo.reference import (
    _C,
    _GROUP_BITS,
    _GROUP_STRINGS,
    _P,
    _RES,
    _S,
    _T,
    QUARTER_ENDS,
)
from analytics.demo.visits import make_visits
from analytics.demo.world import World


def step(w: World, t: int, tr: dict[str, np.ndarray]) -> None:
    """Move from quarter end t to t+1: deaths, targeted moves (with visits), drift."""
    rng, p = w.rng, w.people
    y1 = (t + 1) // 4
    arrival, gone = p.arrival.to_numpy(), p.gone.to_numpy()
    here_next = (arrival <= y1) & (gone > y1) & (w.death_q > t)
    age_next = w.age(t + 1)
    hazard = np.minimum(np.exp(-10.6 + 0.092 * np.maximum(age_next, 0)) / 4, 0.25)
    dies = here_next & (rng.random(w.n) < hazard)
    w.death_q[dies] = t + 1
    w.death_date[dies] = w.random_days_in_quarter(t + 1, int(dies.sum()))

    target = tr["target"]
    who = np.flatnonzero(target > 0)
    ttype = target[who]
    groups = tr["groups"][who]
    age = w.age(t)[who]
    gflag = {k: ((groups & _GROUP_BITS[k]) != 0).astype(float) for k in range(1, 9)}
    z = (age - 40) / 15
    zi = (np.log(p.income.to_numpy()[who]) - math.log(30000)) / 0.6
    street = w.street[who]
    move_eff = w.geo.streets["move_eff"].to_numpy()[street]
    base = np.zeros(len(who))
    uplift = np.zeros(len(who))
    for code, name in ((1, "enroll"), (2, "upgrade"), (3, "resume")):
        m = ttype == code
        c = MODEL[name]
        lin = (
            c["intercept"]
            + c["age_z"] * z
            + c["age_z2"] * z**2
            + c["male"] * w.male[who]
            + c["urban"] * w.urban[who]
            + c["income_z"] * zi
            + move_eff
        )
        lin += sum(c["group"][str(k)] * gflag[k] for k in range(1, 9))
        if name == "upgrade":
            lin += c["grade_z"] * np.log(np.maximum(w.grade[who], 100) / 300)
        if name == "resume":
            lin += c["lapse_log"] * np.log1p(np.maximum(t - w.lapse_t[who], 0))
        up = c["visit"] + sum(c["visit_group"][str(k)] * gflag[k] for k in range(1, 9))
        base[m], uplift[m] = lin[m], up[m]
    vm = MODEL["visit_model"]
    street_visit = w.geo.streets["visit_eff"].to_numpy()[street]
    v_logit = (
        vm["intercept"]
        + vm["slope"] * (base + 2.5)
        + street_visit
        + rng.normal(0, vm["noise_sd"], len(who))
    )
    visited = rng.random(len(who)) < _sigmoid(v_logit)
    p_move = _sigmoid(base + visited * uplift)
    success = (rng.random(len(who)) < p_move) & ~dies[who]
    p_true = p_move * (1 - np.where(here_next[who], hazard[who], 0.0))

    apply_moves(w, t, who[success], ttype[success], tr["groups"])
    # Dead people's enrollments end (终止参保); a second enrollment is closed too.
    w.st[dies & np.isin(w.st, (_C, _S, _P))] = _T
    w.dst[dies] = 0
    w.dsch[dies] = 0
    # Drift of everyone else who is still here: lapses and retirements.
    rest = here_next & ~dies
    rest[who[success]] = False
    g = tr["groups"]
    risky = (g & (_GROUP_BITS[3] | _GROUP_BITS[4])) != 0
    lh = MODEL["lapse_hazard_per_quarter"]
    hz = np.where(w.sch == _RES, lh["resident"], lh["employee"]) * np.where(
        risky, lh["group_3_or_4_factor"], 1
    )
    lapse = rest & (w.st == _C) & (w.dst == 0) & (rng.random(w.n) < hz)
    w.st[lapse] = _S
    w.lapse_t[lapse] = t + 1
    retire = rest & np.isin(w.st, (_C, _S)) & (age_next >= w.retire_age(w.sch))
    w.st[retire] = _P

    outcome = success.astype(int)
    w.prob_rows.append(
        pd.DataFrame(
            {
                "as_of": QUARTER_ENDS[t].isoformat(),
                "id_number": w.ids[who],
                "true_target_type": np.array(["", "enroll", "upgrade", "resume"])[ttype],
                "p_true": np.round(p_true, 6),
                "visited": visited.astype(int),
                "outcome": outcome,
                "groups": _GROUP_STRINGS[groups],
            }
        )
    )
    make_visits(w, t, who[visited], ttype[visited], success[visited], tr)
