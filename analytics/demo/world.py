"""The world: people and their state, shared by the simulation steps and the file writers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.demo.checks import make_usccs
from analytics.demo.dates import _dates_from_days, age_on
from analytics.demo.geography import make_geography
from analytics.demo.latent import make_entities, make_latent
from analytics.demo.people import _names, make_people
from analytics.demo.reference import (
    _GIVEN_FEMALE,
    _GIVEN_MALE,
    _OTHER_PENSION_REGIONS,
    _RES,
    QUARTER_ENDS,
)
from analytics.demo.shards import Issued, Shared


@dataclass
class _YearLists:
    """What the yearly (Q1) department lists say: the basis of groups and exclusions."""

    hukou_status: np.ndarray  # per person: -1 absent, 0 正常, 1 死亡, 2 迁出
    residence: np.ndarray  # per person bool
    student: np.ndarray
    inmate_release: np.ndarray  # per person datetime64, NaT when not on the inmate list
    groups_static: np.ndarray  # bit mask of groups 1, 2, 4-8
    migrant_start: np.ndarray  # datetime64 employment_start, NaT when not on the list
    annual_income: np.ndarray  # int, 0 when not on the list
    present: np.ndarray  # here and alive on the list date


class World:
    """People, their lists and their enrollments: the state the simulation moves on.

    ``init_state`` (enrollment) adds the enrollment arrays; ``year_lists`` fills ``years``.
    """

    def __init__(
        self,
        persons: int,
        seed: int | Sequence[int],
        shared: Shared | None = None,
        issued: Issued | None = None,
    ) -> None:
        """``shared`` and ``issued`` are given for shards after the first: the region's
        geography, cadres and outside employers come from shard 0, and ID numbers and
        credit codes avoid the ones earlier shards issued (see ``shards``)."""
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.geo = shared.geo if shared else make_geography(self.rng)
        self.people = make_people(self.rng, persons, self.geo, issued.ids_taken if issued else None)
        self.latent = make_latent(self.rng, self.people)
        self.entities = make_entities(
            self.rng, self.people, self.latent, self.geo, issued.usccs_taken if issued else None
        )
        n = persons
        self.n = n
        self.ids = self.people.id_number.to_numpy()
        self.names = self.people.name.to_numpy()
        self.birth = self.people.birth.to_numpy().astype("datetime64[D]")
        self.male = self.people.male.to_numpy()
        self.urban = self.people.urban.to_numpy()
        self.street = self.people.street.to_numpy()
        self.comm_codes = self.geo.communities.code.to_numpy()
        self.ext_usccs = (
            shared.ext_usccs
            if shared
            else make_usccs(
                self.rng,
                300,
                np.full(300, "有限责任公司"),
                np.array(_OTHER_PENSION_REGIONS)[np.arange(300) % len(_OTHER_PENSION_REGIONS)],
            )
        )
        self.death_q = np.full(n, 99, dtype=np.int16)
        self.death_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        self.years: dict[int, _YearLists] = {}
        self.visits: pd.DataFrame | None = None
        self.prob_rows: list[pd.DataFrame] = []
        self.kpi_rows: list[pd.DataFrame] = []
        self.cadres = (
            shared.cadres
            if shared
            else _names(self.rng, self.rng.random(2 * len(self.comm_codes)) < 0.4)
        )

    # ---- dates and helpers -------------------------------------------------------------
    @staticmethod
    def day(t: int) -> np.datetime64:
        return np.datetime64(QUARTER_ENDS[t].isoformat())

    def age(self, t: int) -> np.ndarray:
        return age_on(self.birth, QUARTER_ENDS[t])

    def random_days_in_quarter(self, t: int, k: int) -> np.ndarray:
        hi = self.day(t).astype(int)
        lo = self.day(t - 1).astype(int) + 1 if t > 0 else np.datetime64("2023-01-01").astype(int)
        return _dates_from_days(self.rng.integers(lo, hi + 1, k))

    def other_name(self, names: np.ndarray) -> np.ndarray:
        """The same person written with a different given-name character (a typo)."""
        pool = np.array(list(_GIVEN_MALE + _GIVEN_FEMALE))
        repl = pool[self.rng.integers(0, len(pool), len(names))]
        return np.array(
            [s[:-1] + (c if c != s[-1] else "明") for s, c in zip(names, repl)], dtype=object
        )

    def retire_age(self, sch: np.ndarray) -> np.ndarray:
        return np.where(sch == _RES, 60, np.where(self.male, 60, 55))
