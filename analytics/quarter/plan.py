"""The what-if planner (``kuomian plan``): the city's KPIs year by year to the last
goal year, from the newest registry, the flows observed in the stored snapshots
and a yearly campaign of N enrollments and M upgrades.

The model
=========
Each legal-population member of a snapshot is in one state (``reg_persons``):

- ``E`` employee-scheme contributor (参保缴费 in 企业职工 or 机关事业单位);
- ``R`` other contributor: the residents' scheme (城乡居民, 参保缴费), not ``E``;
- ``D`` drawing a pension (待遇领取), not contributing;
- ``S`` insured but neither contributing nor drawing: suspended (暂停缴费);
- ``U`` not insured (no enrollment, or only 终止参保).

so that legal_population = E+R+D+S+U, insured = E+R+D+S, contributors = E+R and
employee_contributors = E, exactly the KPI's counts.

**Observed flows** (:func:`observed_flows`). Consecutive snapshots p → n (every
stored date up to the newest registry's, one snapshot per date) are matched
person by person on the ID number. Over a pair, ``t = months(p, n) / 12`` years
(months counted between month positions, so quarter ends are 3 months apart).

- ageing in: under 16 in p (their one exclusion), legal in n — a count per year,
  ``Σ events / Σ t``;
- deaths, by state in p: contributors (E+R pooled), drawing, suspended, not
  insured → dead in n — a rate per person-year, ``Σ events / Σ (base_p × t)``;
- retirements: a contributor in p drawing in n (state D) — per contributor-year;
- lapses: a contributor in p who is suspended in n (暂停缴费, to S) or no longer
  insured (终止参保, to U) — two rates per contributor-year;
- resumptions: suspended in p (S), contributing in n, to the employee scheme (E) or
  the residents' scheme (R) — two rates per suspended person-year (people pick up
  their payments again about as often as they stop: leaving them out would empty
  the contributors);
- the campaign's own enrollments (not insured in p, insured in n) and upgrades
  (R in p, E in n) — counts per year, reported, not projected (below).

Only deaths the data reports count (the death kind, or 户籍 status 死亡): someone
who simply leaves the data is not a death. Moves in and out, students, inmates and
downgrades are not projected: the model carries the natural flows above only.

**A year of the plan** (:func:`plan`), from the state S_t at the start of year t
(flows rounded half up to whole people; ``r(x) = floor(x + 1/2)``):

1. outflows of the start-of-year stock, each at most what is left of it:
   contributors C: deaths ``r(δ_C·C)``, retirements ``r(ρ·C)`` (to D), lapses
   ``r(λ_S·C)`` (to S) and ``r(λ_U·C)`` (to U); their total leaves E and R in
   proportion, ``out_E = r(out_C·E/C)``, ``out_R = out_C − out_E`` (the pooled
   rates keep the insured counts independent of the upgrades); D, S, U: deaths
   ``r(δ_X·X)``; S: resumptions ``r(σ_E·S)`` to E and ``r(σ_R·S)`` to R;
2. ageing in: ``r(a·k) − r(a·(k−1))`` new people in U in the plan's k-th year
   (a cumulative rounding, so a fractional yearly count does not drift);
3. enrollments: ``min(N, U)`` people move from U to R (each a new residents'-scheme
   contributor);
4. upgrades: ``min(M, R)`` people move from R to E.

An enrollment or upgrade beyond what is available (U, or R after the year's
enrollments) does not happen and is not carried over: the row's ``enroll`` and
``upgrade`` are the numbers carried out that year, so a capped year shows fewer.

**The rows.** The first row is the newest registry's city KPI as
``kuomian export kpi --level city`` writes it, with ``enroll`` and ``upgrade`` the
campaign's observed yearly pace (enrollments and upgrades per year, rounded half
up; empty with a single snapshot, when nothing was observed) to set beside the
plan's N and M. Row ``year0 + k`` is the state after k years of the plan (on the
newest registry's month and day of that year). N and M are the campaign's whole
yearly effort: the observed campaign pace is not added to them. Goals are those
the newest registry was built with (``registry_goals``).

**Reach** (:func:`reach`). Coverage does not depend on M (upgrades and the pooled
contributor flows leave the insured count alone), so N is the smallest N whose
coverage meets the year's goal, and M the smallest M whose structure ratio meets
it with that N (more enrollments only dilute the ratio, so a larger N never needs
fewer upgrades, up to the rounding of a person): the componentwise smallest pair. Both are found by bisection over whole
numbers, ``goal_met`` deciding.

**A street** (``street=CODE`` of :func:`plan`, :func:`reach`,
:func:`observed_flows`): the same model on the people of one street in each
snapshot (someone who moves to another street leaves it, as a move out of the
city leaves the city: not a flow), its first row the street's KPI row. **A group**
(``group=G``, a priority group 1–8, alone or with ``street``): the same model on the
people in group G in each snapshot (someone who leaves the group leaves the
projection, as a move out of a street does: not a flow); there is no KPI row of a
group, so its first row is made from the state counts (legal population E+R+D+S+U,
insured, coverage, contributors E+R, employee contributors E, structure ratio).

**Back-test** (:func:`backtest`). For each year-long window of the stored
snapshots, one year of the plan from its first snapshot, with the flows observed
over the window and N, M the campaign's enrollments and upgrades observed over
it, set beside its last snapshot: the errors are what the model leaves out. On the
demo (3000 and 20000 persons, 7 windows) the projection falls short of the legal
population by about 2.8% (net moves in), of coverage by 1.1–1.7 percentage points
and of the structure ratio by up to 3 points (enrollments straight into the
employee scheme); contributors within 1.2%.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import operator
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import duckdb
import pandas as pd

from analytics import published, store
from analytics.config import Goal
from analytics.registry.versions import goal_met, goals_of, version_for

PLAN_COLUMNS = [
    "year",
    "legal_population",
    "insured",
    "coverage_rate",
    "contributors",
    "employee_contributors",
    "structure_ratio",
    "enroll",
    "upgrade",
]
# States of a legal-population member (module docstring), and of everyone else.
CONTRIBUTOR_STATES = ("E", "R")
LEGAL_STATES = ("E", "R", "D", "S", "U")
# Death rates are kept per base: contributors pooled, then the other states.
DEATH_BASES = ("C", "D", "S", "U")


class PlanError(ValueError):
    """A plan that cannot be made as asked (bad year, numbers or unreachable goal)."""


# ------------------------------------------------------------------ observed flows


@dataclass(frozen=True)
class Flows:
    """The flows observed in the stored snapshots, per year (module docstring).

    ``death`` holds a rate per person-year for each base (``C`` contributors,
    ``D`` drawing, ``S`` suspended, ``U`` not insured); ``retire``,
    ``lapse_suspended`` and ``lapse_terminated`` are per contributor-year,
    ``resume_employee`` and ``resume_residents`` per suspended person-year;
    ``age_in``, ``enroll`` and ``upgrade`` are people per year. ``events`` and
    ``exposure`` (person-years, or years for the counts) are what they came from."""

    dates: tuple[dt.date, ...]
    years: Fraction
    age_in: Fraction
    death: dict[str, Fraction]
    retire: Fraction
    lapse_suspended: Fraction
    lapse_terminated: Fraction
    resume_employee: Fraction
    resume_residents: Fraction
    enroll: Fraction
    upgrade: Fraction
    events: dict[str, int]
    exposure: dict[str, Fraction]

    @property
    def observed(self) -> bool:
        """Whether any pair of snapshots was compared."""
        return self.years > 0

    def table(self) -> pd.DataFrame:
        """One row per flow: its events, exposure and yearly value (float), for display."""
        rows = [
            ("age_in", "count", self.age_in),
            *((f"death_{b}", "rate", self.death[b]) for b in DEATH_BASES),
            ("retire", "rate", self.retire),
            ("lapse_suspended", "rate", self.lapse_suspended),
            ("lapse_terminated", "rate", self.lapse_terminated),
            ("resume_employee", "rate", self.resume_employee),
            ("resume_residents", "rate", self.resume_residents),
            ("enroll", "count", self.enroll),
            ("upgrade", "count", self.upgrade),
        ]
        return pd.DataFrame(
            [
                (name, kind, self.events[name], float(self.exposure[name]), float(value))
                for name, kind, value in rows
            ],
            columns=["flow", "kind", "events", "exposure", "yearly"],
        )


# A person's state in one snapshot: a legal state, 'child' (under 16 and nothing
# else), 'dead', or 'out' (not legal for another reason).
_STATE_SQL = """
    SELECT id_number,
        CASE
            WHEN legal AND employee_contributor THEN 'E'
            WHEN legal AND contributing THEN 'R'
            WHEN legal AND drawing THEN 'D'
            WHEN legal AND insured THEN 'S'
            WHEN legal THEN 'U'
            WHEN list_contains(exclusions, 'dead') THEN 'dead'
            WHEN exclusions = ['under_16'] THEN 'child'
            ELSE 'out'
        END AS state
    FROM reg_persons WHERE version = {v}{where}"""
# A street's snapshot holds the people of the street on that date (someone who moves
# to another street leaves it, as someone who moves away leaves the city).
_IN_STREET = " AND street_code = $street"
# A group's snapshot holds the people in that priority group on that date.
_IN_GROUP = " AND list_contains(groups, $group)"


def _where(street: str | None, group: int | None = None) -> str:
    return (_IN_STREET if street else "") + (_IN_GROUP if group is not None else "")


def _pair_sql(street: str | None, group: int | None = None) -> str:
    where = _where(street, group)
    return f"""
    WITH p AS ({_STATE_SQL.format(v="$p", where=where)}),
         n AS ({_STATE_SQL.format(v="$n", where=where)})
    SELECT coalesce(p.state, 'absent') AS before, coalesce(n.state, 'absent') AS after,
           count(*) AS people
    FROM p FULL OUTER JOIN n USING (id_number)
    GROUP BY ALL"""


def _params(street: str | None, group: int | None = None, **values: object) -> dict:
    if street:
        values["street"] = street
    if group is not None:
        values["group"] = group
    return values


def _month_position(d: dt.date) -> Fraction:
    """Months since year 0 at the end of day ``d``: a month's last day is a whole month."""
    return 12 * d.year + d.month - 1 + Fraction(d.day, calendar.monthrange(d.year, d.month)[1])


def years_between(a: dt.date, b: dt.date) -> Fraction:
    """Years from ``a`` to ``b`` by months, so quarter ends are a quarter apart.

    >>> years_between(dt.date(2025, 3, 31), dt.date(2025, 6, 30))
    Fraction(1, 4)
    """
    return (_month_position(b) - _month_position(a)) / 12


def _snapshots(con: duckdb.DuckDBPyConnection) -> tuple[int, dt.date, list[tuple[int, dt.date]]]:
    """The version in use, its date, and one snapshot per stored date up to it (the
    version in use for its own date, else the newest of the date), oldest first."""
    version, as_of = version_for(con)
    rows = con.execute(
        """SELECT as_of, CASE WHEN as_of = $d THEN $v ELSE max(version) END
           FROM registry_versions WHERE as_of <= $d GROUP BY as_of ORDER BY as_of""",
        {"d": as_of, "v": version},
    ).fetchall()
    return version, as_of, [(int(v), d) for d, v in rows]


# The transition counts of a pair of published versions, by (import store,
# versions, street, group): a published version never changes, and one run of
# the plan page asks for the same pairs three times (plan, reach, flows), the
# backtest for each pair once per window: a second each at a million people.
_PAIRS: dict[tuple, list[tuple]] = {}
_PAIRS_KEPT = 1024


def _store_key(con: duckdb.DuckDBPyConnection) -> str | None:
    """The import store's id, the first part of :data:`_PAIRS`' key."""
    try:
        return published.known_store_id(con)
    except duckdb.CatalogException:
        return None  # a store from before published versions: nothing to key on


def _pair_rows(
    con: duckdb.DuckDBPyConnection,
    sid: str | None,
    vp: int,
    vn: int,
    street: str | None,
    group: int | None,
) -> list[tuple]:
    """(before, after, people) from version ``vp`` to ``vn`` of store ``sid``, the
    street's or group's only."""
    key = (sid, vp, vn, street, group)
    rows = _PAIRS.get(key) if sid else None
    if rows is None:
        rows = con.execute(_pair_sql(street, group), _params(street, group, p=vp, n=vn)).fetchall()
        if sid:
            if len(_PAIRS) >= _PAIRS_KEPT:
                _PAIRS.clear()
            _PAIRS[key] = rows
    return rows


def _rate(events: int, exposure: Fraction) -> Fraction:
    return Fraction(events) / exposure if exposure else Fraction(0)


def _observe(
    con: duckdb.DuckDBPyConnection,
    snapshots: list[tuple[int, dt.date]],
    street: str | None = None,
    group: int | None = None,
) -> Flows:
    events: Counter[str] = Counter()
    exposure: dict[str, Fraction] = {}
    span = Fraction(0)

    def expose(name: str, amount: Fraction) -> None:
        exposure[name] = exposure.get(name, Fraction(0)) + amount

    sid = _store_key(con)
    for (vp, dp), (vn, dn) in pairwise(snapshots):
        t = years_between(dp, dn)
        span += t
        moved = {(b, a): int(k) for b, a, k in _pair_rows(con, sid, vp, vn, street, group)}
        base = Counter()
        for (b, _), k in moved.items():
            base[b] += k
        contributors = base["E"] + base["R"]
        for (b, a), k in moved.items():
            contributor = b in CONTRIBUTOR_STATES
            if b == "child" and a in LEGAL_STATES:
                events["age_in"] += k
            if a == "dead" and b in LEGAL_STATES:
                events[f"death_{'C' if contributor else b}"] += k
            if contributor and a == "D":
                events["retire"] += k
            if contributor and a == "S":
                events["lapse_suspended"] += k
            if contributor and a == "U":
                events["lapse_terminated"] += k
            if b == "S" and a == "E":
                events["resume_employee"] += k
            if b == "S" and a == "R":
                events["resume_residents"] += k
            if b == "U" and a in ("E", "R", "D", "S"):
                events["enroll"] += k
            if b == "R" and a == "E":
                events["upgrade"] += k
        for b in DEATH_BASES:
            expose(f"death_{b}", (contributors if b == "C" else base[b]) * t)
        for name in ("retire", "lapse_suspended", "lapse_terminated"):
            expose(name, contributors * t)
        for name in ("resume_employee", "resume_residents"):
            expose(name, base["S"] * t)
        for name in ("age_in", "enroll", "upgrade"):
            expose(name, t)
    names = [
        "age_in",
        *(f"death_{b}" for b in DEATH_BASES),
        "retire",
        "lapse_suspended",
        "lapse_terminated",
        "resume_employee",
        "resume_residents",
        "enroll",
        "upgrade",
    ]
    exposure = {n: exposure.get(n, Fraction(0)) for n in names}
    ev = {n: int(events[n]) for n in names}
    rate = {n: _rate(ev[n], exposure[n]) for n in names}
    return Flows(
        dates=tuple(d for _, d in snapshots),
        years=span,
        age_in=rate["age_in"],
        death={b: rate[f"death_{b}"] for b in DEATH_BASES},
        retire=rate["retire"],
        lapse_suspended=rate["lapse_suspended"],
        lapse_terminated=rate["lapse_terminated"],
        resume_employee=rate["resume_employee"],
        resume_residents=rate["resume_residents"],
        enroll=rate["enroll"],
        upgrade=rate["upgrade"],
        events=ev,
        exposure=exposure,
    )


def observed_flows(db: str | Path, street: str | None = None, group: int | None = None) -> Flows:
    """The yearly flows observed between the consecutive stored snapshots up to the
    registry in use (module docstring: what each flow counts and its base); with
    ``street`` (a 9-digit code), among the people of that street; with ``group``
    (1–8), among the people in that priority group."""
    street, group = _street_code(street), _group_number(group)
    with store.reading(db) as con:
        _, _, snapshots = _snapshots(con)
        return _observe(con, snapshots, street, group)


# ------------------------------------------------------------------ the projection


@dataclass(frozen=True)
class State:
    """The city's legal population by state (module docstring)."""

    E: int
    R: int
    D: int
    S: int
    U: int

    @property
    def legal(self) -> int:
        return self.E + self.R + self.D + self.S + self.U

    @property
    def insured(self) -> int:
        return self.E + self.R + self.D + self.S

    @property
    def contributors(self) -> int:
        return self.E + self.R

    @property
    def coverage_rate(self) -> float | None:
        return self.insured / self.legal if self.legal else None

    @property
    def structure_ratio(self) -> float | None:
        return self.E / self.contributors if self.contributors else None


def round_half_up(x: Fraction) -> int:
    """Whole people from an expected number: halves go up.

    >>> round_half_up(Fraction(3, 2)), round_half_up(Fraction(7, 5))
    (2, 1)
    """
    return math.floor(x + Fraction(1, 2))


def step(state: State, flows: Flows, k: int, enroll: int, upgrade: int) -> tuple[State, int, int]:
    """The k-th year of the plan (k = 1, 2, ...) from ``state``: the new state and
    the enrollments and upgrades carried out (module docstring, "A year")."""
    E, R, D, S, U = state.E, state.R, state.D, state.S, state.U
    C = E + R
    left = C
    out = []
    for rate in (flows.death["C"], flows.retire, flows.lapse_suspended, flows.lapse_terminated):
        n = min(round_half_up(rate * C), left)
        out.append(n)
        left -= n
    _, retire, to_s, to_u = out
    out_c = C - left
    out_e = round_half_up(Fraction(out_c * E, C)) if C else 0
    E, R = E - out_e, R - (out_c - out_e)
    D = D - min(round_half_up(flows.death["D"] * D), D) + retire
    dead_s = min(round_half_up(flows.death["S"] * S), S)
    back_e = min(round_half_up(flows.resume_employee * S), S - dead_s)
    back_r = min(round_half_up(flows.resume_residents * S), S - dead_s - back_e)
    S = S - dead_s - back_e - back_r + to_s
    E, R = E + back_e, R + back_r
    U = U - min(round_half_up(flows.death["U"] * U), U) + to_u
    U += round_half_up(flows.age_in * k) - round_half_up(flows.age_in * (k - 1))
    enrolled = min(enroll, U)
    U, R = U - enrolled, R + enrolled
    upgraded = min(upgrade, R)
    R, E = R - upgraded, E + upgraded
    return State(E, R, D, S, U), enrolled, upgraded


def project(start: State, flows: Flows, years: int, enroll: int, upgrade: int) -> list[tuple]:
    """``years`` years of the plan from ``start``: (state, enrolled, upgraded) per year."""
    out, state = [], start
    for k in range(1, years + 1):
        state, enrolled, upgraded = step(state, flows, k, enroll, upgrade)
        out.append((state, enrolled, upgraded))
    return out


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class _Basis:
    """What every plan of one registry starts from."""

    year: int
    first: dict
    start: State
    flows: Flows
    goals: tuple[Goal, ...]

    @property
    def last_year(self) -> int:
        return max(self.year, max(g.year for g in self.goals))


def _start_sql(street: str | None, group: int | None = None) -> str:
    return f"""
    SELECT state, count(*) FROM ({_STATE_SQL.format(v="$v", where=_where(street, group))})
    WHERE state IN ({", ".join(repr(s) for s in LEGAL_STATES)}) GROUP BY state"""


_KPI_SQL = """
    SELECT legal_population, insured, coverage_rate, contributors, employee_contributors,
           structure_ratio
    FROM reg_kpi WHERE version = $v AND level = 'city'"""
_STREET_KPI_SQL = """
    SELECT legal_population, insured, coverage_rate, contributors, employee_contributors,
           structure_ratio
    FROM reg_kpi WHERE version = $v AND level = 'street' AND code = $street"""


def _street_code(street: object) -> str | None:
    """None (the city) or a street's 9-digit code."""
    if street is None:
        return None
    if not isinstance(street, str) or not (len(street) == 9 and street.isdigit()):
        raise PlanError(f"街道代码须为9位数字 (a street code has 9 digits): {street!r}")
    return street


def _group_number(group: object) -> int | None:
    """None (everyone) or a priority group number 1–8."""
    if group is None:
        return None
    try:
        number = operator.index(group) if not isinstance(group, bool) else 0
    except TypeError:
        number = 0
    if not 1 <= number <= 8:
        raise PlanError(f"重点群体须为1至8 (a priority group is 1 to 8): {group!r}")
    return number


def _basis(db: str | Path, street: str | None = None, group: int | None = None) -> _Basis:
    street, group = _street_code(street), _group_number(group)
    with store.reading(db) as con:
        version, as_of, snapshots = _snapshots(con)
        kpi = store.one(con, _STREET_KPI_SQL if street else _KPI_SQL, _params(street, v=version))
        if street and kpi is None:
            raise PlanError(
                f"街道 {street} 不在最新实名库中 (street {street} is not in the newest registry)"
            )
        flows = _observe(con, snapshots, street, group)
        counts = dict(
            con.execute(_start_sql(street, group), _params(street, group, v=version)).fetchall()
        )
        goals = goals_of(con, version)
    start = State(*(int(counts.get(s, 0)) for s in LEGAL_STATES))
    # A group has no KPI row: its first row is its state counts.
    first = dict(zip(PLAN_COLUMNS[1:7], kpi)) if kpi and group is None else _row_of(start)
    first["year"] = as_of.year
    # The campaign's observed pace, beside the plan's N and M (empty: not observed).
    first["enroll"] = round_half_up(flows.enroll) if flows.observed else None
    first["upgrade"] = round_half_up(flows.upgrade) if flows.observed else None
    return _Basis(as_of.year, first, start, flows, goals)


def _row_of(state: State) -> dict:
    return {
        "legal_population": state.legal,
        "insured": state.insured,
        "coverage_rate": state.coverage_rate,
        "contributors": state.contributors,
        "employee_contributors": state.E,
        "structure_ratio": state.structure_ratio,
    }


def _frame(basis: _Basis, enroll: int, upgrade: int) -> pd.DataFrame:
    rows = [basis.first]
    years = basis.last_year - basis.year
    for k, (state, enrolled, upgraded) in enumerate(
        project(basis.start, basis.flows, years, enroll, upgrade), start=1
    ):
        rows.append(
            {"year": basis.year + k, **_row_of(state), "enroll": enrolled, "upgrade": upgraded}
        )
    frame = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    for col in ("year", "legal_population", "insured", "contributors", "employee_contributors"):
        frame[col] = frame[col].astype("int64")
    for col in ("coverage_rate", "structure_ratio"):
        frame[col] = frame[col].astype("float64")
    for col in ("enroll", "upgrade"):
        frame[col] = frame[col].astype("Int64")
    return frame


def _count(value: object, what: str) -> int:
    """A whole number of people (or a year), 0 or more; bools and floats are refused."""
    try:
        number = operator.index(value) if not isinstance(value, bool) else -1
    except TypeError:
        number = -1
    if number < 0:
        raise PlanError(
            f"{what} 须为非负整数 ({what} must be a whole number, 0 or more): {value!r}"
        )
    return number


def plan(
    db: str | Path,
    enroll: int,
    upgrade: int,
    street: str | None = None,
    group: int | None = None,
) -> pd.DataFrame:
    """The plan with ``enroll`` enrollments and ``upgrade`` upgrades every year: one
    row per year from the newest registry's year to the last goal year, the
    contract's columns (module docstring: the model and the first row). With
    ``street`` (a 9-digit code) the same projection of that street alone: its
    snapshots' people, its flows, and its street KPI as the first row. With
    ``group`` (1–8) the same projection of the people in that priority group, its
    first row made from their state counts."""
    enroll, upgrade = _count(enroll, "enroll"), _count(upgrade, "upgrade")
    return _frame(_basis(db, street, group), enroll, upgrade)


# ------------------------------------------------------------------ reach


def _goal(basis: _Basis, year: int) -> Goal:
    years = ", ".join(str(g.year) for g in basis.goals)
    goal = next((g for g in basis.goals if g.year == year), None)
    if goal is None:
        raise PlanError(
            f"{year} 年不是配置的目标年份 ({year} is not a configured goal year: {years})"
        )
    if year < basis.year:
        raise PlanError(
            f"{year} 年早于最新实名库的年份 {basis.year} ({year} is before the newest "
            f"registry's year {basis.year})"
        )
    return goal


def _smallest(meets, hi: int) -> int | None:
    """The smallest n in 0..hi with ``meets(n)`` (monotone), or None."""
    if not meets(hi):
        return None
    lo = -1  # meets(lo) is taken as false, meets(hi) is true
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


def reach_numbers(basis: _Basis, year: int) -> tuple[int, int]:
    """The smallest yearly (N, M) meeting ``year``'s goals (module docstring, "Reach")."""
    goal = _goal(basis, year)
    k = year - basis.year
    if k == 0:
        first = basis.first
        if goal_met(first["coverage_rate"], goal.coverage) and goal_met(
            first["structure_ratio"], goal.structure
        ):
            return 0, 0
        raise PlanError(
            f"{year} 年的目标无法达到：该年是最新实名库的年份，数值已是实际值 ({year}'s goals "
            "cannot be met: it is the newest registry's year, whose values are observed)"
        )
    # N or M this large moves everyone available every year: coverage (structure)
    # is then 1 whenever the legal population (contributors) is not empty.
    bound = basis.start.legal + round_half_up(basis.flows.age_in * k)

    def at_year(n: int, m: int) -> State:
        return project(basis.start, basis.flows, k, n, m)[-1][0]

    n = _smallest(lambda n: goal_met(at_year(n, 0).coverage_rate, goal.coverage), bound)
    if n is None:
        raise PlanError(
            f"{year} 年参保率目标无法达到 ({year}'s coverage goal {goal.coverage} cannot be "
            "met: the legal population is empty)"
        )
    m = _smallest(lambda m: goal_met(at_year(n, m).structure_ratio, goal.structure), bound)
    if m is None:
        raise PlanError(
            f"{year} 年结构比目标无法达到 ({year}'s structure goal {goal.structure} cannot "
            "be met: there are no contributors)"
        )
    return n, m


def reach(
    db: str | Path, year: int, street: str | None = None, group: int | None = None
) -> pd.DataFrame:
    """The plan with the smallest equal yearly N and M that meet ``year``'s goals
    (of the city, or of ``street`` or ``group`` as :func:`plan` has them)."""
    return _reach_frame(db, year, street, group)


def _reach_frame(
    db: str | Path, year: int, street: str | None = None, group: int | None = None
) -> pd.DataFrame:
    # export_plan's parameter ``reach`` hides the function of that name.
    basis = _basis(db, street, group)
    n, m = reach_numbers(basis, _count(year, "year"))
    return _frame(basis, n, m)


# ------------------------------------------------------------------ back-test

BACKTEST_COLUMNS = [
    "start",
    "end",
    "measure",
    "projected",
    "observed",
    "error",
    "relative_error",
]
BACKTEST_MEASURES = (
    "legal_population",
    "insured",
    "contributors",
    "employee_contributors",
    "coverage_rate",
    "structure_ratio",
)


def _state_of(con: duckdb.DuckDBPyConnection, version: int) -> State:
    counts = dict(con.execute(_start_sql(None), {"v": version}).fetchall())
    return State(*(int(counts.get(s, 0)) for s in LEGAL_STATES))


def backtest(db: str | Path) -> pd.DataFrame:
    """The projection checked against the history it is made from.

    For every year-long window of stored snapshots (a snapshot and the one a year
    later by :func:`years_between`, up to the registry in use), the flows are
    observed over that window alone (its consecutive pairs), one year of the plan
    is run from the window's first snapshot with N and M the campaign's own
    enrollments and upgrades observed over it (rounded half up), and the result is
    set beside the window's last snapshot. One row per window and measure
    (``BACKTEST_MEASURES``): ``projected``, ``observed``, ``error`` = projected −
    observed and ``relative_error`` = error ÷ observed (empty when observed is 0
    or empty). A region with less than a year of snapshots gives no rows.

    What the model leaves out (moves in and out, students, inmates, downgrades,
    enrollments straight into the employee scheme, several changes of one person
    within the window) is what the errors measure."""
    rows = []
    with store.reading(db) as con:
        _, _, snapshots = _snapshots(con)
        for i, (v0, d0) in enumerate(snapshots):
            j = next(
                (
                    j
                    for j in range(i + 1, len(snapshots))
                    if years_between(d0, snapshots[j][1]) >= 1
                ),
                None,
            )
            if j is None or years_between(d0, snapshots[j][1]) != 1:
                continue
            v1, d1 = snapshots[j]
            flows = _observe(con, snapshots[i : j + 1])
            start, seen = _state_of(con, v0), _state_of(con, v1)
            ((after, _, _),) = project(
                start, flows, 1, round_half_up(flows.enroll), round_half_up(flows.upgrade)
            )
            projected, observed = _row_of(after), _row_of(seen)
            for measure in BACKTEST_MEASURES:
                p, o = projected[measure], observed[measure]
                error = None if p is None or o is None else p - o
                rows.append(
                    {
                        "start": d0,
                        "end": d1,
                        "measure": measure,
                        "projected": p,
                        "observed": o,
                        "error": error,
                        "relative_error": error / o if error is not None and o else None,
                    }
                )
    frame = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    for col in ("projected", "observed", "error", "relative_error"):
        frame[col] = frame[col].astype("float64")
    return frame


# ------------------------------------------------------------------ the CSV


def export_plan(
    db: str | Path,
    out: Path,
    enroll: int | None = None,
    upgrade: int | None = None,
    reach: int | None = None,
) -> int:
    """Write the plan CSV (``kuomian plan``): UTF-8, a header row, rates as exact
    fractions 0..1, empty for an empty rate or an unobserved pace; returns the rows.
    Give ``enroll`` and ``upgrade``, or ``reach`` alone."""
    if reach is not None:
        if enroll is not None or upgrade is not None:
            raise PlanError(
                "--reach 不能与 --enroll/--upgrade 同用 (give --reach YEAR, or --enroll N "
                "--upgrade N, not both)"
            )
        frame = _reach_frame(db, reach)
    elif enroll is None or upgrade is None:
        raise PlanError(
            "须同时给出 --enroll 和 --upgrade，或给出 --reach (give --enroll N --upgrade N, "
            "or --reach YEAR)"
        )
    else:
        frame = plan(db, enroll, upgrade)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Floats are written in their shortest exact form (repr), as the kpi export's.
    frame.to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    return len(frame)


__all__ = [
    "BACKTEST_COLUMNS",
    "BACKTEST_MEASURES",
    "PLAN_COLUMNS",
    "Flows",
    "PlanError",
    "State",
    "backtest",
    "export_plan",
    "observed_flows",
    "plan",
    "reach",
]
