"""The generator: the world simulated quarter by quarter, a batch written at each quarter end.

A region larger than a shard is generated shard by shard (see ``shards``): each shard
a whole world over all quarters, written and freed before the next one starts, so the
memory needed is a shard's, whatever the region's size.
"""

from __future__ import annotations

import gc
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.demo.batches import Batches
from analytics.demo.dynamics import step
from analytics.demo.enrollment import init_state
from analytics.demo.reference import _C, _P, _S, _T, QUARTER_ENDS
from analytics.demo.rules import record_kpi, truth_at
from analytics.demo.shards import (
    MIN_SHARD_PERSONS,
    SHARD_PERSONS,
    Issued,
    Shared,
    shard_seed,
    shard_sizes,
)
from analytics.demo.truth import write_kpi, write_truth
from analytics.demo.world import World


@dataclass
class _ShardResult:
    """What outlives a shard's world: the little the next shards and the summary need."""

    shared: Shared
    kpi: pd.DataFrame
    files_written: int
    rows_per_kind: dict[str, int]


def generate_demo(
    out: pathlib.Path,
    persons: int = 120_000,
    seed: int = 2025,
    shard_persons: int = SHARD_PERSONS,
) -> dict:
    """Write the synthetic region 示例市 as 11 quarterly batches under ``out``, truth in ``out/.truth``.

    Above ``shard_persons`` people the region is generated in ceil(persons /
    shard_persons) shards of near-equal size, one after the other; up to it, in one
    world as it always was. Returns a summary: output folder, persons, shards, batches,
    files written and rows per kind. The same ``persons``, ``seed`` and
    ``shard_persons`` give byte-identical files.
    """
    if persons < MIN_SHARD_PERSONS:
        raise ValueError(
            f"persons must be at least {MIN_SHARD_PERSONS} (got {persons}): "
            "the region has ~100 communities"
        )
    if shard_persons < 2 * MIN_SHARD_PERSONS:
        raise ValueError(
            f"shard_persons must be at least {2 * MIN_SHARD_PERSONS} (got {shard_persons}): "
            f"every shard needs {MIN_SHARD_PERSONS} people"
        )
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = shard_sizes(persons, shard_persons)
    issued = Issued() if len(sizes) > 1 else None
    shared: Shared | None = None
    kpi: list[pd.DataFrame] = []
    files_written, rows_per_kind = 0, {}
    for s, n in enumerate(sizes):
        r = _generate_shard(out, n, shard_seed(seed, s), s, len(sizes), shared, issued)
        gc.collect()  # the shard's world is gone: give its memory back before the next
        shared = shared or r.shared
        kpi.append(r.kpi)
        files_written += r.files_written
        for kind, rows in r.rows_per_kind.items():
            rows_per_kind[kind] = rows_per_kind.get(kind, 0) + rows
    write_kpi(out, kpi)
    return {
        "out": str(out),
        "persons": persons,
        "seed": seed,
        "shards": len(sizes),
        "batches": [d.isoformat() for d in QUARTER_ENDS],
        "files": files_written,
        "rows": dict(sorted(rows_per_kind.items())),
    }


def _generate_shard(
    out: pathlib.Path,
    persons: int,
    seed: int | Sequence[int],
    shard: int,
    shards: int,
    shared: Shared | None,
    issued: Issued | None,
) -> _ShardResult:
    """One world simulated over every quarter, its files and truth written."""
    w = World(persons, seed, shared, issued)
    if issued is not None:
        issued.add(w.ids, w.entities.table.uscc.to_numpy())
    files = Batches(w, out, shard, shards)
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
    return _ShardResult(
        shared=Shared(w.geo, w.cadres, w.ext_usccs),
        kpi=pd.concat(w.kpi_rows, ignore_index=True),
        files_written=files.files_written,
        rows_per_kind=files.rows_per_kind,
    )
