"""Tests of the synthetic demo generator (analytics.demo) and its boundaries.

The generator's own truth files are checked against the files it writes, with the
standards' arithmetic written out again here so a wrong table in the generator
cannot hide itself.
"""

from __future__ import annotations

import ast
import hashlib
import json
import pathlib

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from analytics.demo import QUARTER_ENDS, REGION_CODE, generate_demo

PERSONS = 6000


def _id_ok(s: str) -> bool:
    """GB 11643-1999 check, independent of the generator's vectorised one."""
    if len(s) != 18 or not s[:17].isdigit():
        return False
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(s[:17]))
    if "10X98765432"[total % 11] != s[17]:
        return False
    try:
        pd.Timestamp(f"{s[6:10]}-{s[10:12]}-{s[12:14]}")
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("demo")
    generate_demo(out, persons=PERSONS, seed=11)
    return out


def _digest(root: pathlib.Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: pathlib.Path) -> None:
    generate_demo(tmp_path / "a", persons=1500, seed=3)
    generate_demo(tmp_path / "b", persons=1500, seed=3)
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a == b
    assert any(k.endswith(".xlsx") for k in a)  # workbooks too, not only CSVs


def test_other_seed_gives_other_people(tmp_path: pathlib.Path) -> None:
    generate_demo(tmp_path / "a", persons=1500, seed=3)
    generate_demo(tmp_path / "b", persons=1500, seed=4)
    ids_a = set(pd.read_csv(tmp_path / "a/.truth/persons.csv", dtype=str).id_number)
    ids_b = set(pd.read_csv(tmp_path / "b/.truth/persons.csv", dtype=str).id_number)
    assert len(ids_a & ids_b) < 0.05 * len(ids_a)


def test_eleven_quarterly_batches_with_manifests(demo: pathlib.Path) -> None:
    folders = sorted(p.name for p in demo.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders == [d.isoformat() for d in QUARTER_ENDS]
    for name in folders:
        text = (demo / name / "manifest.toml").read_text(encoding="utf-8")
        assert f'as_of = "{name}"' in text and f'region_code = "{REGION_CODE}"' in text


def test_yearly_kinds_only_in_first_quarter_batches(demo: pathlib.Path) -> None:
    acc = pd.read_csv(demo / ".truth/accounting.csv")
    yearly = acc[acc.kind == "hukou"].batch.unique().tolist()
    assert yearly == ["2023-03-31", "2024-03-31", "2025-03-31"]
    assert acc[acc.kind == "pension_enrollment"].batch.nunique() == 11
    assert acc[acc.kind == "survey"].batch.nunique() == 10
    assert "survey" not in set(acc[acc.batch == "2023-03-31"].kind)


def test_accounting_adds_up_for_every_file(demo: pathlib.Path) -> None:
    acc = pd.read_csv(demo / ".truth/accounting.csv")
    assert (acc.read == acc.accepted + acc.duplicates + acc.problems).all()
    probs = pd.read_csv(demo / ".truth/problems.csv")
    errors = probs[probs.severity == "error"].groupby(["batch", "source_file"]).size()
    counted = acc.set_index(["batch", "source_file"]).problems
    assert errors.reindex(counted.index, fill_value=0).equals(counted)
    for batch, name in zip(acc.batch, acc.source_file, strict=True):
        assert (demo / batch / name).exists()


def test_problem_reasons_are_the_contracts(demo: pathlib.Path) -> None:
    probs = pd.read_csv(demo / ".truth/problems.csv")
    errors = set(probs[probs.severity == "error"].reason)
    assert errors <= {
        "missing_value",
        "invalid_id",
        "invalid_uscc",
        "invalid_date",
        "invalid_value",
        "invalid_address_code",
        "out_of_region",
        "conflict",
    }
    assert {"missing_value", "invalid_id", "invalid_uscc", "conflict", "out_of_region"} <= errors


def test_defect_rates_are_low(demo: pathlib.Path) -> None:
    acc = pd.read_csv(demo / ".truth/accounting.csv")
    big = acc[acc.read > 1000]
    rate = (big.problems + big.duplicates) / big.read
    assert (rate < 0.03).all() and (rate > 0.002).all()


def _csv_lines(path: pathlib.Path) -> list[str]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc).splitlines()
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"{path} is neither UTF-8 nor GB18030")


def test_invalid_id_rows_point_at_bad_ids(demo: pathlib.Path) -> None:
    probs = pd.read_csv(demo / ".truth/problems.csv")
    bad = probs[(probs.reason == "invalid_id") & probs.source_file.str.endswith(".csv")]
    assert len(bad) > 5
    for r in bad.itertuples():
        line = _csv_lines(demo / r.batch / r.source_file)[r.row_number - 1]
        ids = [
            c.strip() for c in line.split(",") if len(c.strip()) == 18 and c.strip()[:6].isdigit()
        ]
        assert ids and not any(_id_ok(i) for i in ids), (r, line)


def test_duplicates_repeat_an_earlier_line(demo: pathlib.Path) -> None:
    acc = pd.read_csv(demo / ".truth/accounting.csv")
    row = acc[(acc.kind == "hukou") & (acc.duplicates > 0)].iloc[0]
    lines = _csv_lines(demo / row.batch / row.source_file)
    data = lines[1:]
    assert len(data) - len(set(data)) == row.duplicates


def test_person_ids_are_valid_and_match_birth_and_sex(demo: pathlib.Path) -> None:
    persons = pd.read_csv(demo / ".truth/persons.csv", dtype=str, keep_default_na=False)
    assert len(persons) == PERSONS and persons.id_number.is_unique
    assert all(_id_ok(i) for i in persons.id_number)
    assert (persons.id_number.str[6:14] == persons.birth_date.str.replace("-", "")).all()
    male = persons.id_number.str[16].astype(int) % 2 == 1
    assert (male == (persons.sex == "男")).all()
    hukou = persons[persons.registration == "hukou"]
    assert (hukou.id_number.str[:6] == REGION_CODE).mean() > 0.75
    assert (persons.community_code.str[:9] == persons.street_code).all()
    assert 0.1 < (persons.registration == "residence").mean() < 0.2


def test_every_group_has_members(demo: pathlib.Path) -> None:
    persons = pd.read_csv(demo / ".truth/persons.csv", dtype=str, keep_default_na=False)
    found = {g for gs in persons.groups for g in gs.split(";") if g}
    assert found == {str(g) for g in range(1, 9)}


def test_kpis_start_near_90_percent_and_improve(demo: pathlib.Path) -> None:
    kpi = pd.read_csv(demo / ".truth/kpi.csv", dtype={"code": str})
    city = kpi[kpi.code == REGION_CODE].set_index("as_of")
    first, last = city.iloc[0], city.iloc[-1]
    assert 0.87 <= first.coverage_rate <= 0.93
    assert 0.20 <= first.structure_ratio <= 0.28
    assert last.coverage_rate > first.coverage_rate + 0.01
    assert last.structure_ratio > first.structure_ratio + 0.02
    streets = kpi[(kpi.code.str.len() == 9) & (kpi.as_of == city.index[0])]
    assert streets.coverage_rate.max() - streets.coverage_rate.min() > 0.08


def test_probabilities_are_calibrated_and_visits_help(demo: pathlib.Path) -> None:
    p = pd.read_csv(demo / ".truth/probabilities.csv", dtype={"id_number": str})
    assert set(p.true_target_type) == {"enroll", "upgrade", "resume"}
    assert p.as_of.nunique() == 10 and QUARTER_ENDS[-1].isoformat() not in set(p.as_of)
    assert abs(p.p_true.mean() - p.outcome.mean()) < 0.01
    by_visit = p.groupby("visited").outcome.mean()
    assert by_visit[1] > by_visit[0] * 1.5
    # Visits go preferentially to likely targets.
    assert p[p.visited == 1].p_true.mean() > p[p.visited == 0].p_true.mean()
    assert not p.duplicated(["as_of", "id_number"]).any()


def test_survey_rows_are_the_recorded_visits(demo: pathlib.Path) -> None:
    p = pd.read_csv(demo / ".truth/probabilities.csv", dtype={"id_number": str})
    acc = pd.read_csv(demo / ".truth/accounting.csv")
    visits = p[p.visited == 1].groupby("as_of").size()
    surveys = acc[acc.kind == "survey"].groupby("batch").accepted.sum()
    # batch t+1 carries the visits to targets of t, plus a few check visits to insured people
    for t in range(len(QUARTER_ENDS) - 1):
        v = visits[QUARTER_ENDS[t].isoformat()]
        s = surveys[QUARTER_ENDS[t + 1].isoformat()]
        assert v <= s <= v * 1.2 + 2


# ----------------------------------------------------------------------------------------
# Boundaries
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boundaries(demo: pathlib.Path) -> dict:
    return json.loads((demo / "2023-03-31" / "示例市边界.geojson").read_text(encoding="utf-8"))


def test_boundaries_have_every_street_and_community(demo: pathlib.Path, boundaries: dict) -> None:
    persons = pd.read_csv(demo / ".truth/persons.csv", dtype=str)
    props = [f["properties"] for f in boundaries["features"]]
    streets = {p["code"] for p in props if p["level"] == "street"}
    comms = {p["code"] for p in props if p["level"] == "community"}
    assert len(streets) == 9 and 95 <= len(comms) <= 115
    assert set(persons.community_code) <= comms and set(persons.street_code) <= streets
    assert all(c[:9] in streets for c in comms)
    assert len({p["name"] for p in props}) == len(props)  # no duplicate names


def test_boundaries_tile_without_overlaps(boundaries: dict) -> None:
    feats = boundaries["features"]
    comms = [shape(f["geometry"]) for f in feats if f["properties"]["level"] == "community"]
    streets = [shape(f["geometry"]) for f in feats if f["properties"]["level"] == "street"]
    union = shapely.union_all(comms)
    total = sum(g.area for g in comms)
    assert abs(total - union.area) / union.area < 1e-5  # no overlaps
    assert abs(sum(g.area for g in streets) - union.area) / union.area < 1e-5
    assert union.geom_type == "Polygon"  # the city is one piece
    minx, miny, maxx, maxy = union.bounds
    assert 102.1 < minx < maxx < 102.8 and 24.7 < miny < maxy < 25.1
    # about 40 x 30 km
    assert 0.3 < maxx - minx < 0.5 and 0.2 < maxy - miny < 0.35


def test_every_community_lies_in_its_street(boundaries: dict) -> None:
    geoms = {f["properties"]["code"]: shape(f["geometry"]) for f in boundaries["features"]}
    for code, g in geoms.items():
        if len(code) == 12:
            street = geoms[code[:9]]
            assert g.difference(street).area < 1e-9 * max(g.area, 1e-12) + 1e-12


def test_make_boundaries_is_deterministic_and_validates_input() -> None:
    from analytics.demo import make_boundaries

    streets = [("530199001", "东城街道"), ("530199002", "青龙镇")]
    comms = [
        ("530199001001", "翠湖社区", "530199001"),
        ("530199002201", "李家村", "530199002"),
        ("530199002202", "张家营村", "530199002"),
    ]
    a = json.dumps(make_boundaries(streets, comms, 5), ensure_ascii=False)
    assert a == json.dumps(make_boundaries(streets, comms, 5), ensure_ascii=False)
    assert a != json.dumps(make_boundaries(streets, comms, 6), ensure_ascii=False)
    with pytest.raises(ValueError):
        make_boundaries(streets, [("530199003001", "x", "530199003")], 5)


def test_small_region_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError):
        generate_demo(tmp_path, persons=10)


def test_person_counts_scale(tmp_path: pathlib.Path) -> None:
    summary = generate_demo(tmp_path, persons=1000, seed=1)
    assert summary["persons"] == 1000 and len(summary["batches"]) == 11
    assert summary["rows"]["hukou"] > 1000 * 0.8 * 2  # three yearly snapshots
    assert np.isclose(
        sum(summary["rows"].values()), pd.read_csv(tmp_path / ".truth/accounting.csv").read.sum()
    )


def test_the_oracle_imports_nothing_of_the_product() -> None:
    """analytics.demo checks the product, so it must not share its code (analytics.*, geo.*)."""
    package = pathlib.Path(generate_demo.__code__.co_filename).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                own = name == "analytics.demo" or name.startswith("analytics.demo.")
                product = name.split(".")[0] in ("analytics", "geo") and not own
                assert not product, f"{path.name} imports {name}"
