"""Latent memberships of the department lists (eight groups, exclusions) and the market
entities run by people of the region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.demo.checks import make_usccs
from analytics.demo.dates import _dates_from_days, age_on
from analytics.demo.geography import Geography
from analytics.demo.reference import (
    _DISABILITY_LEVELS,
    _DISABILITY_TYPES,
    _FIRM_TRADES,
    _MONITOR_TYPES,
    _OCCUPATION_P,
    _OCCUPATIONS,
    _OTHER_CATEGORIES,
    _PLATFORMS,
    _PRACTICE_TYPES,
    _SHOP_KINDS,
    _TRADE_NAMES,
    N_YEARS,
    QUARTER_ENDS,
    REGION_CODE,
    REGION_NAME,
)


def _churn(rng: np.random.Generator, p: np.ndarray, stay: float = 0.88) -> np.ndarray:
    """Membership of a yearly list over the three years, with people joining and leaving.

    ``p`` is each person's chance to be on the list (0 when not eligible); the
    stationary share stays ``p`` because joiners replace leavers.
    """
    n = len(p)
    m = np.zeros((n, N_YEARS), dtype=bool)
    m[:, 0] = rng.random(n) < p
    join = np.clip(p * (1 - stay) / np.maximum(1 - p, 1e-9), 0, 1)
    for y in range(1, N_YEARS):
        m[:, y] = np.where(m[:, y - 1], rng.random(n) < stay, rng.random(n) < join)
    return m


@dataclass
class Latent:
    """Who is on which department list in which year, and the facts the lists carry."""

    member: dict[str, np.ndarray]  # kind -> (n, 3) bool
    attrs: dict[str, np.ndarray] = field(default_factory=dict)


def make_latent(rng: np.random.Generator, people: pd.DataFrame) -> Latent:
    n = len(people)
    age = age_on(people.birth.to_numpy(), QUARTER_ENDS[0])
    urban = people.urban.to_numpy()
    male = people.male.to_numpy()
    resonly = people.resonly.to_numpy()
    adult = (age >= 18) & (age <= 70)
    working = (age >= 18) & (age <= 55)
    mem: dict[str, np.ndarray] = {}
    at: dict[str, np.ndarray] = {}
    mem["operator"] = _churn(
        rng, np.where((age >= 22) & (age <= 65), np.where(urban, 0.05, 0.03), 0.0), 0.9
    )
    mem["landless"] = _churn(rng, np.where(~urban & ~resonly & (age >= 16), 0.09, 0.0), 0.97)
    at["expropriation_date"] = _dates_from_days(
        rng.integers(
            np.datetime64("2005-01-01").astype(int), np.datetime64("2022-12-31").astype(int), n
        )
    )
    mem["migrant_worker"] = _churn(rng, np.where(~urban & ~resonly & working, 0.20, 0.0), 0.85)
    mem["platform_worker"] = _churn(
        rng, np.where((age >= 18) & (age <= 50), np.where(male, 0.035, 0.012), 0.0), 0.8
    )
    occ = rng.choice(len(_OCCUPATIONS), n, p=_OCCUPATION_P)
    at["occupation"] = _OCCUPATIONS[occ]
    at["platform"] = np.array(
        [
            _PLATFORMS[o][i % len(_PLATFORMS[o])]
            for o, i in zip(_OCCUPATIONS[occ], rng.integers(0, 12, n))
        ]
    )
    at["platform_start"] = _dates_from_days(
        rng.integers(
            np.datetime64("2016-01-01").astype(int), np.datetime64("2023-03-01").astype(int), n
        )
    )
    mem["licensed_professional"] = _churn(
        rng, np.where((age >= 25) & (age <= 65), np.where(urban, 0.006, 0.001), 0.0), 0.95
    )
    at["profession"] = np.where(rng.random(n) < 0.55, "律师", "导游")
    at["practice_type"] = _PRACTICE_TYPES[rng.choice(4, n, p=[0.5, 0.2, 0.1, 0.2])]
    mem["dibao"] = _churn(rng, np.where(urban, 0.02, 0.045) * (age >= 0), 0.85)
    mem["tekun"] = _churn(rng, np.where(age >= 60, 0.012, 0.001), 0.95)
    mem["fanpin"] = _churn(rng, np.where(~urban & ~resonly, 0.012, 0.0), 0.8)
    at["monitor_type"] = _MONITOR_TYPES[rng.choice(3, n, p=[0.5, 0.35, 0.15])]
    mem["disability"] = _churn(rng, np.where(age >= 40, 0.08, 0.035), 0.97)
    at["disability_level"] = _DISABILITY_LEVELS[rng.choice(4, n, p=[0.1, 0.2, 0.3, 0.4])]
    at["disability_type"] = _DISABILITY_TYPES[
        rng.choice(7, n, p=[0.15, 0.2, 0.05, 0.35, 0.1, 0.1, 0.05])
    ]
    cat_p = np.column_stack(
        [
            np.where((age >= 25) & (age <= 60), 0.005, 0.0),
            np.where(~urban & (age >= 25) & (age <= 65), 0.002, 0.0),
            np.where((age >= 22) & (age <= 30), 0.012, 0.0),
            np.where(urban & (age >= 22) & (age <= 55), 0.005, 0.0),
            np.where((age >= 20) & (age <= 55), 0.008, 0.0),
        ]
    )
    mem["other_eligible"] = _churn(rng, cat_p.sum(axis=1), 0.85)
    at["category"] = _OTHER_CATEGORIES[
        (rng.random(n)[:, None] * cat_p.sum(axis=1)[:, None] > np.cumsum(cat_p, axis=1))
        .sum(axis=1)
        .clip(0, 4)
    ]
    mem["income_assets"] = _churn(
        rng, np.where(adult, np.where(people.income.to_numpy() > 50000, 0.9, 0.35), 0.0), 0.9
    )
    at["properties"] = rng.choice([0, 1, 1, 1, 2, 2, 3], n)
    at["vehicles"] = rng.choice([0, 0, 1, 1, 1, 2], n)
    at["inmate"] = (age >= 18) & (age <= 55) & (rng.random(n) < np.where(male, 0.0022, 0.0003))
    at["release_date"] = _dates_from_days(
        rng.integers(
            np.datetime64("2023-05-01").astype(int), np.datetime64("2030-12-31").astype(int), n
        )
    )
    return Latent(mem, at)


@dataclass(frozen=True)
class Entities:
    """Market entities (individual businesses and small firms) run by people of the region."""

    table: (
        pd.DataFrame
    )  # uscc, entity_name, entity_type, operator (person idx), established, comm, employees
    status: np.ndarray  # (m, 3) registration status per year ('' = not listed)
    tax_status: np.ndarray  # (m, 3) tax status per year ('' = no taxpayer record)


def make_entities(
    rng: np.random.Generator,
    people: pd.DataFrame,
    latent: Latent,
    geo: Geography,
    taken_usccs: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Entities:
    """The market entities of the region's operators; ``taken_usccs`` says which credit
    codes earlier shards issued (see :func:`make_usccs`)."""
    op = latent.member["operator"]
    owners = np.flatnonzero(op.any(axis=1))
    m = len(owners)
    first_year = op[owners].argmax(axis=1)
    urban = people.urban.to_numpy()[owners]
    firm = rng.random(m) < np.where(urban, 0.3, 0.15)
    etype = np.where(firm, "有限责任公司", "个体工商户")
    comm = people.comm.to_numpy()[owners]
    list_day = np.array(
        [np.datetime64(QUARTER_ENDS[4 * y].isoformat()).astype(int) for y in range(N_YEARS)]
    )
    est_hi = list_day[first_year]
    est_lo = np.where(first_year == 0, np.datetime64("2005-01-01").astype(int), est_hi - 365)
    established = _dates_from_days(rng.integers(est_lo, est_hi))
    trade = np.array(_TRADE_NAMES)
    zh = np.char.add(trade[rng.integers(0, len(trade), m)], trade[rng.integers(0, len(trade), m)])
    short_street = np.array([s[:2] for s in geo.streets.name])[people.street.to_numpy()[owners]]
    names = np.where(
        firm,
        np.char.add(
            np.char.add(REGION_NAME + "", zh),
            np.char.add(_FIRM_TRADES[rng.integers(0, 10, m)], "有限责任公司"),
        ),
        np.char.add(
            np.char.add(np.char.add(REGION_NAME, short_street), zh),
            _SHOP_KINDS[rng.integers(0, 12, m)],
        ),
    )
    employees = np.where(firm, rng.integers(3, 60, m), rng.integers(1, 6, m))
    uscc = make_usccs(rng, m, etype, np.full(m, REGION_CODE), taken_usccs)
    status = np.full((m, N_YEARS), "", dtype=object)
    tax = np.full((m, N_YEARS), "", dtype=object)
    has_tax = rng.random(m) < 0.95
    for y in range(N_YEARS):
        now, before = op[owners, y], op[owners, y - 1] if y else np.zeros(m, dtype=bool)
        active = now & (established.astype(int) <= list_day[y])
        status[active, y] = np.where(rng.random(active.sum()) < 0.8, "存续", "在业")
        closed = ~now & before
        status[closed, y] = np.where(rng.random(closed.sum()) < 0.7, "注销", "吊销")
        tax[active & has_tax, y] = np.where(
            rng.random((active & has_tax).sum()) < 0.88, "正常", "非正常"
        )
        tax[closed & has_tax, y] = "注销"
    table = pd.DataFrame(
        {
            "uscc": uscc,
            "entity_name": names,
            "entity_type": etype,
            "operator": owners,
            "established": established,
            "comm": comm,
            "employees": employees,
        }
    )
    return Entities(table, status, tax)
