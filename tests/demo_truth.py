"""Comparisons of an imported and built demo region with the generator's truth
(``.truth/``), shared by the tests of the whole region and of a sharded one.

``region`` is a dict with ``root`` (a scratch folder), ``db``, ``truth`` (the
truth folder) and ``dates`` (the batch dates)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.cli import main as kuomian

COUNTS = ["read", "accepted", "duplicates", "problems", "warnings"]


def export(region: dict, *args: str) -> pd.DataFrame:
    """``kuomian export ARGS`` of the region's database, read as text."""
    out = region["root"] / f"export-{'-'.join(args)}.csv"
    assert kuomian(["export", *args, "--db", str(region["db"]), "--out", str(out)]) == 0
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def assert_accounting_is_the_truth(region: dict) -> pd.DataFrame:
    """Every file's accounting (imports export) equals ``accounting.csv``; the
    export's rows of data files, returned."""
    mine = export(region, "imports")
    truth = pd.read_csv(region["truth"] / "accounting.csv", dtype=str)
    merged = truth.merge(
        mine[mine["kind"] != "boundaries"],
        on=["batch", "source_file"],
        how="outer",
        suffixes=("_truth", "_ours"),
        indicator=True,
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert (merged["kind_truth"] == merged["kind_ours"]).all()
    for c in COUNTS:
        bad = merged[merged[f"{c}_truth"].astype(int) != merged[f"{c}_ours"].astype(int)]
        assert bad.empty, bad[["batch", "source_file", f"{c}_truth", f"{c}_ours"]]
    return mine


def assert_kpis_are_the_truth(region: dict, level: str) -> pd.DataFrame:
    """The KPIs of every date at ``level`` (city or street) equal ``kpi.csv``;
    the truth's rows of the last date, returned."""
    truth = pd.read_csv(region["truth"] / "kpi.csv", dtype={"code": str})
    width = {"city": 6, "street": 9}[level]
    want = truth.iloc[:0]
    for d in region["dates"]:  # the build kept a snapshot of every imported date
        ours = export(region, "kpi", "--level", level, "--as-of", d).set_index("code")
        want = truth[(truth["as_of"] == d) & (truth["code"].str.len() == width)].set_index("code")
        assert sorted(ours.index) == sorted(want.index), d
        for col in ("legal_population", "insured", "contributors", "employee_contributors"):
            assert (ours[col].astype(int) == want.loc[ours.index, col]).all(), (d, col)
        for col in ("coverage_rate", "structure_ratio"):
            assert np.allclose(ours[col].astype(float), want.loc[ours.index, col], rtol=1e-12)
    return want
