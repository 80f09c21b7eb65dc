"""Batches: the department files of each quarter end, with their accounting."""

from __future__ import annotations

import json
import pathlib
from dataclasses import replace

import numpy as np
import pandas as pd

from analytics.demo.boundaries import make_boundaries
from analytics.demo.contract import KINDS
from analytics.demo.defects import inject_defects
from analytics.demo.plans import file_plans
from analytics.demo.reference import _HK_NORMAL, QUARTER_ENDS, REGION_CODE, REGION_NAME
from analytics.demo.render import _render
from analytics.demo.rows import YEARLY_ROWS, death_rows, pension_rows
from analytics.demo.shards import shard_suffix, with_suffix
from analytics.demo.world import World
from analytics.demo.writers import _write_csv, _write_xlsx


class Batches:
    """Turns the world's state at a quarter end into the files departments would send,
    and keeps the accounting of every file written.

    A shard after the first (``shard`` > 0 of ``shards``) writes its files beside shard
    0's with a suffix in their names (``养老保险参保_s01.csv``), and leaves what the
    region has once to shard 0: manifests, the division list and the boundaries."""

    def __init__(self, world: World, out: pathlib.Path, shard: int = 0, shards: int = 1) -> None:
        self.world = world
        self.out = out
        self.shard = shard
        self.suffix = shard_suffix(shard, shards)
        self.accounting: list[dict] = []
        self.problems: list[dict] = []
        self.files_written = 0
        self.rows_per_kind: dict[str, int] = {}

    def write_batch(self, t: int, tr: dict[str, np.ndarray]) -> None:
        w = self.world
        as_of = QUARTER_ENDS[t]
        folder = self.out / as_of.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        if self.shard == 0:
            (folder / "manifest.toml").write_text(
                f'# 示例市 synthetic demo batch (not real data)\nas_of = "{as_of.isoformat()}"\n'
                f'region_code = "{REGION_CODE}"\n',
                encoding="utf-8",
            )
        self.emit(t, "pension_enrollment", pension_rows(w, t))
        self.emit(t, "death", death_rows(w, t))
        if t >= 1 and w.visits is not None:
            self.emit(t, "survey", w.visits)
        if t % 4 == 0:
            y = t // 4
            for kind, rows in YEARLY_ROWS.items():
                # The division list is the region's, not its people's: key ``code``
                # would repeat in every shard's copy.
                if kind != "division" or self.shard == 0:
                    self.emit(t, kind, rows(w, y))
        if t == 0 and self.shard == 0:
            geo = w.geo
            gj = make_boundaries(
                list(zip(geo.streets.code, geo.streets.name)),
                list(zip(geo.communities.code, geo.communities.name, geo.communities.street_code)),
                w.seed,
            )
            gj["name"] = f"{REGION_NAME}（合成示例数据）"
            (folder / f"{REGION_NAME}边界.geojson").write_text(
                json.dumps(gj, ensure_ascii=False), encoding="utf-8"
            )
            self.files_written += 1

    # ---- files of one kind: plans, defects, writing, accounting ------------------------
    def emit(self, t: int, kind: str, df: pd.DataFrame) -> None:
        w = self.world
        if df.empty:
            return
        spec = KINDS[kind]
        plans, fidx = file_plans(w, kind, t, df)
        plans = [replace(p, name=with_suffix(p.name, self.suffix)) for p in plans]
        # Files are read in code-point order of their names: defects are placed in that order.
        order = sorted(range(len(plans)), key=lambda i: plans[i].name)
        rank = np.empty(len(plans), dtype=int)
        rank[order] = np.arange(len(plans))
        plans = [plans[i] for i in order]
        df = df.assign(_fidx=rank[fidx]).sort_values("_fidx", kind="stable").reset_index(drop=True)
        # Plain object columns: pandas' Arrow-backed strings are slow for this row-wise work.
        for fld in spec.fields:
            df[fld] = pd.to_datetime(df[fld]) if fld in spec.dates else df[fld].astype(object)
        hk = w.years[t // 4].hukou_status
        ctx = {
            "has_hukou": lambda pi: (pi >= 0) & (hk[np.maximum(pi, 0)] == _HK_NORMAL),
            "other_name": w.other_name,
            "community_codes": w.comm_codes,
        }
        rows = inject_defects(df, spec, plans, QUARTER_ENDS[t], w.rng, ctx)
        batch = QUARTER_ENDS[t].isoformat()
        folder = self.out / batch
        fidx_all = rows.data._fidx.to_numpy()
        for f, plan in enumerate(plans):
            m = fidx_all == f
            if not m.any():
                continue
            sub = rows.data[m]
            cells = _render(sub, rows.op[m], spec, plan, w.rng)
            (_write_xlsx if plan.fmt == "xlsx" else _write_csv)(folder / plan.name, cells, plan)
            self.files_written += 1
            role, reason = rows.role[m], rows.reason[m]
            first = len(plan.title) + 2  # Excel/WPS row of the first data row
            self.accounting.append(
                {
                    "batch": batch,
                    "source_file": plan.name,
                    "kind": kind,
                    "read": int(m.sum()),
                    "accepted": int((role == "accepted").sum()),
                    "duplicates": int((role == "duplicate").sum()),
                    "problems": int((role == "problem").sum()),
                    "warnings": int(((role == "accepted") & (reason != "")).sum()),
                }
            )
            for i in np.flatnonzero((role == "problem") | (reason != "")):
                self.problems.append(
                    {
                        "batch": batch,
                        "source_file": plan.name,
                        "row_number": first + int(i),
                        "reason": reason[i],
                        "severity": "error" if role[i] == "problem" else "warning",
                        "kind": kind,
                    }
                )
            self.rows_per_kind[kind] = self.rows_per_kind.get(kind, 0) + int(m.sum())
