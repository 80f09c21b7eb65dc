"""A demo region generated in shards (analytics.demo.shards) is one region: its keys
are unique across the shards' files, the product imports it with exactly the
accounting the merged truth records, and its KPIs equal the summed truth.

3,000 persons in shards of 1,000: three worlds, so a third shard must avoid the
keys of both before it.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from demo_truth import assert_accounting_is_the_truth, assert_kpis_are_the_truth
from python_calamine import CalamineWorkbook

from analytics.cli import main as kuomian
from analytics.demo import generate_demo
from analytics.demo.checks import make_usccs
from analytics.demo.people import _make_ids
from analytics.demo.shards import Issued, shard_sizes, with_suffix

PERSONS, SHARD, SEED = 3000, 1000, 11
_SHARD_OF = re.compile(r"_s(\d+)\.[a-z]+$")
_ID = re.compile(r"(?<![0-9A-Z])[1-8]\d{16}[0-9X](?![0-9A-Z])")  # not a 9x credit code
_USCC = re.compile(r"(?<![0-9A-Z])9[12]\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("demo-shards")
    demo, db = root / "demo", root / "demo.duckdb"
    summary = generate_demo(demo, persons=PERSONS, seed=SEED, shard_persons=SHARD)
    assert summary["shards"] == 3
    assert kuomian(["import", str(demo), "--db", str(db)]) == 0
    assert kuomian(["build", "--db", str(db)]) == 0
    dates = sorted(p.name for p in demo.iterdir() if not p.name.startswith("."))
    return {"root": root, "demo": demo, "db": db, "truth": demo / ".truth", "dates": dates}


def _shard(source_file: str) -> int:
    m = _SHARD_OF.search(source_file)
    return int(m[1]) if m else 0


def _text(path: Path) -> str:
    """Every cell of a department file as one text, full-width folded (NFKC)."""
    if path.suffix == ".xlsx":
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        text = "\n".join(",".join(str(c) for c in row) for row in rows)
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
    return unicodedata.normalize("NFKC", text).upper()


def _keys_by_shard(region: dict, kinds: set[str], pattern: re.Pattern) -> dict:
    """(batch, kind) -> shard -> the keys its files of that kind carry."""
    acc = pd.read_csv(region["truth"] / "accounting.csv", dtype=str)
    found: dict = {}
    for r in acc[acc["kind"].isin(kinds)].itertuples():
        keys = set(pattern.findall(_text(region["demo"] / r.batch / r.source_file)))
        found.setdefault((r.batch, r.kind), {}).setdefault(_shard(r.source_file), set()).update(
            keys
        )
    return found


def _assert_disjoint(found: dict) -> None:
    for (batch, kind), shards in found.items():
        seen: dict[str, int] = {}
        for s, keys in sorted(shards.items()):
            again = {k: seen[k] for k in keys if k in seen}
            assert not again, f"{batch} {kind}: shard {s} repeats keys of {again}"
            seen.update(dict.fromkeys(keys, s))


def test_every_shard_writes_every_batch_and_the_region_files_once(region: dict) -> None:
    acc = pd.read_csv(region["truth"] / "accounting.csv", dtype=str)
    acc["shard"] = acc["source_file"].map(_shard)
    assert sorted(acc["shard"].unique()) == [0, 1, 2]
    for s in (0, 1, 2):
        assert sorted(acc.loc[acc["shard"] == s, "batch"].unique()) == region["dates"]
    # The division list and the boundaries are the region's: shard 0 writes them.
    assert set(acc.loc[acc["kind"] == "division", "shard"]) == {0}
    assert [p.name for p in region["demo"].rglob("*.geojson")] == ["示例市边界.geojson"]
    assert not list(region["demo"].rglob("manifest_*"))


def test_id_numbers_are_unique_across_the_shards(region: dict) -> None:
    persons = pd.read_csv(region["truth"] / "persons.csv", dtype=str)
    assert len(persons) == PERSONS and persons["id_number"].is_unique
    acc = pd.read_csv(region["truth"] / "accounting.csv", dtype=str)
    person_kinds = set(acc["kind"]) - {"division", "taxpayer"}
    _assert_disjoint(_keys_by_shard(region, person_kinds, _ID))


def test_credit_codes_are_unique_across_the_shards(region: dict) -> None:
    found = _keys_by_shard(region, {"market_entity", "taxpayer"}, _USCC)
    assert all(len(shards) == 3 for shards in found.values())
    _assert_disjoint(found)


def test_shard_zero_is_the_unsharded_region_of_its_size(region: dict, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    generate_demo(alone, persons=SHARD, seed=SEED)
    for p in sorted(alone.rglob("*")):
        rel = p.relative_to(alone)
        if p.is_file() and rel.parts[0] != ".truth":
            assert (region["demo"] / rel).read_bytes() == p.read_bytes(), rel


def test_import_accounting_equals_the_merged_truth_file_by_file(region: dict) -> None:
    assert_accounting_is_the_truth(region)


@pytest.mark.parametrize("level", ["city", "street"])
def test_kpis_equal_the_summed_truth_at_every_date(region: dict, level: str) -> None:
    last = assert_kpis_are_the_truth(region, level)
    # The city's legal population is the whole region's, not one shard's.
    if level == "city":
        assert last["legal_population"].iloc[0] > 0.6 * PERSONS


# ---------------------------------------------------------------- the pieces, on forced repeats


def test_shards_are_near_equal_and_cover_the_region() -> None:
    assert shard_sizes(900, 1000) == [900]
    assert shard_sizes(1000, 1000) == [1000]
    assert shard_sizes(1001, 1000) == [501, 500]
    assert shard_sizes(10_000_000, 1_000_000) == [1_000_000] * 10
    assert sum(shard_sizes(2_345_678, 1_000_000)) == 2_345_678


def test_a_shard_suffix_keeps_the_kind_in_the_file_name() -> None:
    assert with_suffix("养老保险参保.csv", "") == "养老保险参保.csv"
    assert with_suffix("死亡人员.xlsx", "_s01") == "死亡人员_s01.xlsx"
    assert with_suffix("death_2024Q2.csv", "_s12") == "death_2024Q2_s12.csv"


def test_ids_avoid_the_ones_earlier_shards_issued() -> None:
    # 300 + 200 men born on one day in one county: 500 of the day's 500 sequence
    # numbers (00-99 x five odd digits), so the second draw must find the free ones.
    rng = np.random.default_rng(0)
    prefix, birth = np.full(300, "530199"), np.full(300, np.datetime64("1980-01-01"))
    first = _make_ids(rng, prefix, birth, np.ones(300, dtype=bool))
    issued = Issued()
    issued.add(first, np.array([], dtype=str))
    later = _make_ids(rng, prefix[:200], birth[:200], np.ones(200, dtype=bool), issued.ids_taken)
    assert len(set(later)) == 200 and not set(later) & set(first)


def test_credit_codes_avoid_the_ones_earlier_shards_issued() -> None:
    kind, county = np.full(50, "个体工商户"), np.full(50, "530199")
    first = make_usccs(np.random.default_rng(1), 50, kind, county)
    # The same seed draws the same 50 codes: every one is redrawn.
    later = make_usccs(np.random.default_rng(1), 50, kind, county, lambda c: np.isin(c, first))
    assert len(set(later)) == 50 and not set(later) & set(first)
    # Nothing taken, nothing redrawn: the draws are those of a run without the check.
    none = make_usccs(np.random.default_rng(1), 50, kind, county, lambda c: np.zeros(len(c), bool))
    assert (none == first).all()
