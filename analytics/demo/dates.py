"""Calendar arithmetic on numpy dates: days to dates, year/month/day, completed age."""

from __future__ import annotations

import datetime as dt

import numpy as np


def _dates_from_days(days: np.ndarray) -> np.ndarray:
    return np.datetime64("1970-01-01", "D") + days.astype("timedelta64[D]")


def _ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = dates.astype("datetime64[Y]").astype(int) + 1970
    m = dates.astype("datetime64[M]").astype(int) % 12 + 1
    d = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    return y, m, d


def age_on(birth: np.ndarray, on: dt.date) -> np.ndarray:
    """Completed years on ``on``; a 29 February birthday counts from 1 March in common years."""
    by, bm, bd = _ymd(birth)
    return on.year - by - ((on.month * 100 + on.day) < (bm * 100 + bd)).astype(int)
