"""The generator: the world simulated quarter by quarter, a batch written at each quarter end."""

from __future__ import annotations

import pathlib

import numpy as np

from analytics.demo.batches import Batches
from analytics.demo.dynamics import step
from analytics.demo.enrollment import init_state
from analytics.demo.reference import _C, _P, _S, _T, QUARTER_ENDS
from analytics.demo.rules import record_kpi, truth_at
from analytics.demo.truth import write_truth
from analytics.demo.world import World


def generate_demo(out: pathlib.Path, persons: int = 120_000, seed: int = 2025) -> dict:
    """Write the synthetic region 示例市 as 11 quarterly batches under ``out``, truth in ``out/.truth``.

    Returns a summary: output folder, persons, batches, files written and rows per kind.
    The same ``persons`` and ``seed`` give byte-identical files.
    """
    if persons < 500:
        raise ValueError(
            f"persons must be at least 500 (got {persons}): the region has ~100 communities"
        )
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = World(persons, seed)
    files = Batches(w, out)
    # Deaths of the first quarter happen before the first lists are drawn.
    here = w.people.arrival.to_numpy() == 0
    hazard = np.minimum(np.exp(-10.6 + 0.092 * np.maximum(w.age(0), 0)) / 4, 0.25)
    dies = here & (w.rng.random(w.n) < hazard)
    w.death_q[dies] = 0
    w.death_date[dies] = w.random_days_in_quarter(0, int(dies.sum()))
    init_state(w)
    w.st[dies & np.isin(w.st, (_C, _S, _P))] = _T
    w.dst[dies], w.dsch[dies] = 0, 0
    tr: dict[str, np.ndarray] = {}
    for t in range(len(QUARTER_ENDS)):
        tr = truth_at(w, t)
        record_kpi(w, t, tr)
        files.write_batch(t, tr)
        if t < len(QUARTER_ENDS) - 1:
            step(w, t, tr)
    write_truth(w, files, tr)
    return {
        "out": str(out),
        "persons": persons,
        "seed": seed,
        "batches": [d.isoformat() for d in QUARTER_ENDS],
        "files": files.files_written,
        "rows": dict(sorted(files.rows_per_kind.items())),
    }
