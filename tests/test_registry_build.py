"""The registry build's layout and runner, its stored goals, the configuration's
checks, and the read functions of the exports (on the tiny region of
``tinyregion.py``: 48 people, two quarterly batches)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import tinyregion
from test_app import ACCOUNTS, _navigation_as_served, add_accounts, login  # noqa: F401
from tinyregion import write_batches

from analytics import exports, published, reads, store
from analytics.config import ConfigError, Goal, load_config, memory_bytes
from analytics.ingest import import_batches
from analytics.registry import build
from analytics.registry.build import PIPELINE, STEPS_DIR, BuildError, build_registry
from analytics.registry.in_force import event_kinds
from analytics.registry.runner import PythonStep, SqlStep
from analytics.registry.versions import goal_met, goals_of, version_for
from analytics.sources import load_sources


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny region imported, not built (a template each test copies)."""
    root = tmp_path_factory.mktemp("tiny")
    db = root / "imported.duckdb"
    import_batches(write_batches(root / "batches"), db=db)
    return db


@pytest.fixture(scope="module")
def built(imported: Path) -> Path:
    """The tiny region built with the default configuration (a template)."""
    db = imported.parent / "built.duckdb"
    shutil.copyfile(imported, db)
    build_registry(db)
    return db


def _copy(src: Path, tmp_path: Path) -> Path:
    return tinyregion.copy_database(src, tmp_path / "k.duckdb")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


# ---------------------------------------------------------------- layout


def test_pipeline_lists_every_step_file_once_in_the_order_of_its_number() -> None:
    listed = [s.file for s in PIPELINE if isinstance(s, SqlStep)]
    on_disk = sorted(p.name for p in STEPS_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    assert listed == on_disk


def test_each_step_file_creates_the_table_or_macro_it_is_named_after() -> None:
    for path in STEPS_DIR.glob("[0-9][0-9][0-9]_*.sql"):
        text = path.read_text(encoding="utf-8")
        name = path.stem.split("_", 1)[1]
        assert text.startswith("-- "), path.name
        if name.startswith("macro_"):
            made = re.findall(r"CREATE OR REPLACE TEMP MACRO (\w+)", text)
            assert made == [name.removeprefix("macro_")], path.name
        else:
            assert re.findall(r"CREATE OR REPLACE TEMP TABLE (\w+)", text) == [name], path.name


def test_score_is_a_named_python_step_between_the_sql_files() -> None:
    names = [s.name for s in PIPELINE]
    score = names.index("score")
    assert isinstance(PIPELINE[score], PythonStep)
    assert names[score - 1] == "400_int_targets.sql"
    assert names[score + 1] == "410_mart_targets_ranked.sql"


def test_event_kinds_come_from_the_sources_event_flag() -> None:
    kinds = load_sources().kinds.values()
    assert event_kinds() == sorted(k.name for k in kinds if k.event) == ["death", "survey"]


# ---------------------------------------------------------------- runner


def test_broken_step_file_raises_build_error_naming_it_and_keeps_registry(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(built, tmp_path)
    steps = tmp_path / "steps"
    shutil.copytree(STEPS_DIR, steps, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    broken = steps / "300_mart_persons.sql"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace(
            "FROM int_population pop", "FROM int_populaton pop"
        ),
        encoding="utf-8",
    )
    with published.stored(db) as con:
        before = (
            store.get_meta(con, "current_version"),
            con.execute("SELECT * FROM reg_kpi ORDER BY ALL").fetchall(),
            con.execute("SELECT version, as_of FROM registry_versions ORDER BY ALL").fetchall(),
        )
    monkeypatch.setattr(build, "STEPS_DIR", steps)

    with pytest.raises(BuildError) as err:
        build_registry(db)

    message = str(err.value)
    assert "300_mart_persons.sql" in message
    assert "CREATE OR REPLACE TEMP TABLE mart_persons" in message
    assert "int_populaton" in message
    assert not isinstance(err.value, duckdb.Error)
    with published.stored(db) as con:
        after = (
            store.get_meta(con, "current_version"),
            con.execute("SELECT * FROM reg_kpi ORDER BY ALL").fetchall(),
            con.execute("SELECT version, as_of FROM registry_versions ORDER BY ALL").fetchall(),
        )
    assert after == before


def test_debug_prints_every_step_with_rows(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _copy(built, tmp_path)
    build_registry(db, debug=True, as_of=dt.date(2025, 6, 30))
    printed = capsys.readouterr().err
    for step in PIPELINE:
        assert f"[{step.name}]" in printed
    assert re.search(r"\[score\] python step score … rows=\d+", printed)


# ---------------------------------------------------------------- snapshot reuse

REG_TABLES = [f"reg_{m}" for m in build.MARTS]


def _snapshot_rows(db: Path, version: int) -> dict[str, list]:
    with published.stored(db) as con:
        return {
            t: con.execute(
                f"SELECT * FROM {t} WHERE version = ? ORDER BY ALL", [version]
            ).fetchall()
            for t in REG_TABLES
        }


def _versions(db: Path) -> dict[dt.date, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("SELECT as_of, version FROM registry_versions").fetchall())
    finally:
        con.close()


def test_importing_one_more_quarter_rebuilds_only_that_date(tmp_path: Path) -> None:
    first, second = write_batches(tmp_path / "batches")
    db = tmp_path / "k.duckdb"
    import_batches([first], db=db)
    build_registry(db)
    (v1,) = _versions(db).values()
    before = _snapshot_rows(db, v1)

    import_batches([second], db=db)
    info = build_registry(db)

    assert info["dates_built"] == [tinyregion.DATES[1]]
    versions = _versions(db)
    assert versions[tinyregion.DATES[0]] == v1
    assert _snapshot_rows(db, v1) == before
    assert info["version"] == versions[tinyregion.DATES[1]]


@pytest.mark.parametrize("configured", ["8GB", "700MB"])
def test_the_score_step_holds_duckdb_below_its_limits_and_the_configured_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    """1 GB while the learned date's frames exist, 2 GB on the prior's dates, and
    never more than ``limits.build_memory_limit``; the configured limit after."""
    first, second = write_batches(tmp_path / "batches")
    db = tmp_path / "k.duckdb"
    import_batches([first, second], db=db)
    cfg = load_config()
    cfg = dataclasses.replace(
        cfg, limits=dataclasses.replace(cfg.limits, build_memory_limit=configured)
    )
    seen: list[tuple[bool, str]] = []
    score = build._ranking().score_targets

    def spy(con, as_of, learn):
        setting = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        seen.append((learn, setting))
        return score(con, as_of, learn)

    monkeypatch.setattr(build._ranking(), "score_targets", spy)
    build_registry(db, config=cfg)
    prior = min("2GB", configured, key=memory_bytes)
    learned = min("1GB", configured, key=memory_bytes)
    assert seen == [(False, _as_duckdb_prints(prior)), (True, _as_duckdb_prints(learned))]


def _as_duckdb_prints(size: str) -> str:
    """A memory limit as DuckDB's current_setting shows it ("953.6 MiB" for 1GB)."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{size}'")
    return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


def _files(db: Path) -> dict[int, Path]:
    """Each stored version's snapshot file (whether it is there or not)."""
    with published.stored(db) as con:
        sid = published.store_id(con)
        rows = con.execute("SELECT version, as_of FROM registry_versions").fetchall()
    return {v: published.snapshot_file(db, sid, v, d) for v, d in rows}


def test_the_import_store_keeps_each_versions_record_and_its_file_the_marts(
    built: Path, tmp_path: Path
) -> None:
    db = _copy(built, tmp_path)
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert not tables & set(REG_TABLES)
    files = _files(db)
    assert len(files) == len(tinyregion.DATES) and all(f.exists() for f in files.values())
    current = published.manifest(db, published.current_number(db))
    assert sorted(current["snapshots"].values()) == sorted(
        f"snapshots/{f.name}" for f in files.values()
    )
    # The rows the build wrote are the rows readers read.
    with published.stored(db) as con:
        persons = con.execute("SELECT count(*) FROM reg_persons").fetchall()[0][0]
        counted = con.execute("SELECT sum(persons) FROM registry_versions").fetchall()[0][0]
    assert persons == counted > 0


def test_a_version_whose_file_is_missing_is_built_again(built: Path, tmp_path: Path) -> None:
    """A build stopped between a version's commit and its file leaves the record
    alone: the next build does not reuse it, and readers never see it."""
    db = _copy(built, tmp_path)
    version, gone = min(_files(db).items(), key=lambda kv: kv[1].name)
    before = _snapshot_rows(db, version)
    gone.unlink()

    info = build_registry(db)

    assert info["dates_built"] == [tinyregion.DATES[0]]
    files = _files(db)
    assert version not in files and all(f.exists() for f in files.values())
    (again,) = [v for v, f in files.items() if f.name.startswith(str(tinyregion.DATES[0]))]
    after = _snapshot_rows(db, again)
    # The same marts, under the new version's number.
    assert {t: [r[1:] for r in rows] for t, rows in after.items()} == {
        t: [r[1:] for r in rows] for t, rows in before.items()
    }


def test_the_marts_an_older_import_store_kept_are_written_out_once_and_dropped(
    built: Path, tmp_path: Path
) -> None:
    """Before the snapshot files were the only copy, the import store kept every
    version's marts too: the first build after writes the file of a version that
    has none from them (nothing is built again) and drops them."""
    db = _copy(built, tmp_path)
    files = _files(db)
    version, gone = min(files.items(), key=lambda kv: kv[1].name)
    rows = _snapshot_rows(db, version)
    con = duckdb.connect(str(db))
    con.execute(f"ATTACH '{files[version]}' AS old (READ_ONLY)")
    for t in REG_TABLES:
        con.execute(f"CREATE TABLE main.{t} AS SELECT * FROM old.main.{t}")
    con.execute("DETACH old")
    con.close()
    gone.unlink()

    info = build_registry(db)

    assert info["dates_built"] == []
    assert gone.exists() and _snapshot_rows(db, version) == rows
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert not tables & set(REG_TABLES)


def test_rebuild_with_nothing_changed_builds_nothing_and_keeps_the_current_version(
    built: Path, tmp_path: Path
) -> None:
    db = _copy(built, tmp_path)
    current = version_for(duckdb.connect(str(db), read_only=True))[0]

    info = build_registry(db)

    assert info["dates_built"] == []
    assert info["version"] == current
    assert info["as_of"] == tinyregion.DATES[1]


def test_rebuild_with_nothing_changed_still_makes_the_asked_date_current(
    built: Path, tmp_path: Path
) -> None:
    db = _copy(built, tmp_path)
    build_registry(db, as_of=tinyregion.DATES[0])
    earlier = _versions(db)[tinyregion.DATES[0]]

    info = build_registry(db)
    again = build_registry(db, as_of=tinyregion.DATES[0])

    assert info["dates_built"] == [] and again["dates_built"] == []
    assert info["version"] == _versions(db)[tinyregion.DATES[1]]
    assert again["version"] == earlier
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert version_for(con) == (earlier, tinyregion.DATES[0])
    finally:
        con.close()


def test_a_visit_recorded_in_the_app_rebuilds_its_date_and_later_ones(
    built: Path, tmp_path: Path
) -> None:
    db = _copy(built, tmp_path)
    with store.app_store(db) as app:
        app.execute(
            "INSERT INTO visits (as_of, id_number, survey_date, result, recorded_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [str(tinyregion.DATES[1]), tinyregion.person_id(0), "2025-06-01", "考虑中", "now"],
        )

    info = build_registry(db)

    assert info["dates_built"] == [tinyregion.DATES[1]]


def test_reimporting_an_earlier_quarter_rebuilds_it_and_the_date_that_learns_from_it(
    tmp_path: Path,
) -> None:
    first, second = write_batches(tmp_path / "batches")
    db = tmp_path / "k.duckdb"
    import_batches([first, second], db=db)
    build_registry(db)
    kept = _versions(db)

    import_batches([first], db=db)
    info = build_registry(db)

    assert info["dates_built"] == list(tinyregion.DATES)
    assert all(_versions(db)[d] > kept[d] for d in tinyregion.DATES)


def test_a_code_change_rebuilds_every_date(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy(built, tmp_path)
    monkeypatch.setattr(build, "code_hash", lambda cfg: "changed")

    assert build_registry(db)["dates_built"] == list(tinyregion.DATES)


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[groups]\nincome_treshold = 50000\n", "groups.income_treshold"),
        ("[goals.2025]\ncoverag = 0.9\n", "goals.2025.coverag"),
    ],
)
def test_unknown_key_in_override_is_config_error_naming_key_and_file(
    tmp_path: Path, text: str, key: str
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(
        ConfigError, match=rf"unknown key {re.escape(key)} in {re.escape(str(path))}"
    ):
        load_config(path)


def test_unknown_key_via_environment_is_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, "regin_code = '530181'\n")
    monkeypatch.setenv("KUOMIAN_CONFIG", str(path))
    with pytest.raises(ConfigError, match="unknown key regin_code in"):
        load_config()


def test_a_goal_year_may_be_added(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, "[goals.2030]\ncoverage = 0.955\nstructure = 0.4\n"))
    assert [g.year for g in cfg.goals] == [2025, 2030, 2035]


def test_missing_contract_goal_year_is_build_error(imported: Path, tmp_path: Path) -> None:
    cfg = load_config()
    cfg = type(cfg)(
        cfg.region_code, cfg.region_name, (cfg.goal(2025),), cfg.groups, cfg.sources_extend
    )
    with pytest.raises(BuildError, match="2035"):
        build_registry(_copy(imported, tmp_path), config=cfg)


# ---------------------------------------------------------------- goals


def test_2030_goal_adds_its_gap_columns_at_the_end_of_the_kpi_export(
    built: Path, imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None
) -> None:
    plain = tmp_path / "plain.csv"
    exports.export("kpi", built, plain, level="community")
    db = _copy(imported, tmp_path)
    cfg = load_config(_config(tmp_path, "[goals.2030]\ncoverage = 0.955\nstructure = 0.41\n"))
    build_registry(db, config=cfg)
    out = tmp_path / "kpi.csv"
    exports.export("kpi", db, out, level="community")

    want, got = _read_csv(plain), _read_csv(out)
    assert got[0] == want[0] + ["coverage_gap_2030", "structure_gap_2030"]
    assert [row[:-2] for row in got] == want
    head = got[0]
    for row in got[1:]:
        cell = dict(zip(head, row, strict=True))
        legal, insured = int(cell["legal_population"]), int(cell["insured"])
        contributors, employees = int(cell["contributors"]), int(cell["employee_contributors"])
        assert int(cell["coverage_gap_2030"]) == max(
            0, math.ceil(Decimal("0.955") * legal - insured)
        )
        assert int(cell["structure_gap_2030"]) == max(
            0, math.ceil(Decimal("0.41") * contributors - employees)
        )
    assert any(int(r[head.index("coverage_gap_2030")]) > 0 for r in got[1:])

    con = duckdb.connect(str(db), read_only=True)
    try:
        version, _ = version_for(con)
        assert goals_of(con, version) == (
            Goal(2025, 0.95, 0.30),
            Goal(2030, 0.955, 0.41),
            Goal(2035, 0.96, 0.50),
        )
    finally:
        con.close()

    # The pages compare with the goals of the version, 2030 among them.
    assert reads.goals(db, version)[2030] == (0.955, 0.41)
    streets = reads.kpi(db, version, "street")
    assert (streets["coverage_gap_2030"] >= 0).all()
    monkeypatch.setenv("KUOMIAN_DB", str(db))
    add_accounts(db)
    at = login(ACCOUNTS["leader"][0])
    at.switch_page("pages/overview.py").run()
    at.radio(key="overview_goal_year").set_value(2030).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [m.label for m in at.metric][2:5] == [f"距{y}年目标的缺口" for y in (2025, 2030, 2035)]
    at.switch_page("pages/map.py").run()
    at.radio(key="map_goal_year").set_value(2030).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("2030年目标（96%）" in frame.value.columns for frame in at.dataframe)


def test_goals_are_stored_with_each_version(built: Path) -> None:
    con = duckdb.connect(str(built), read_only=True)
    try:
        versions = [v for (v,) in con.execute("SELECT version FROM registry_versions").fetchall()]
        assert len(versions) == 2
        for v in versions:
            assert goals_of(con, v) == load_config().goals
        assert goals_of(con, versions[0])[0] == Goal(2025, 0.95, 0.30)
        with pytest.raises(BuildError):
            goals_of(con, 999)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("rate", "goal", "met"),
    [
        (0.95, 0.95, True),
        (0.96, 0.95, True),
        (0.9499999, 0.95, False),
        (None, 0.95, False),
        (float("nan"), 0.95, False),
        (0.0, 0.3, False),
    ],
)
def test_goal_met_means_a_rate_at_or_above_the_goal(rate, goal, met) -> None:
    assert goal_met(rate, goal) is met


# ---------------------------------------------------------------- read functions


def test_problems_frame_holds_the_rows_of_the_problems_export(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "problems.csv"
    n = exports.export("problems", built, out)
    con = store.connect(built, read_only=True)
    try:
        frame = exports.problems_frame(con, None)
        earlier = exports.problems_frame(con, dt.date(2025, 3, 31))
    finally:
        con.close()
    assert len(frame) == n == 1
    assert list(frame.columns[:7]) == exports.PROBLEM_COLUMNS
    assert frame.loc[0, "reason"] == "invalid_id"
    assert earlier.empty


def test_problems_frame_before_any_import_is_empty_with_the_contract_columns(db: Path) -> None:
    con = store.connect(db, read_only=True)
    try:
        frame = exports.problems_frame(con, None)
    finally:
        con.close()
    assert frame.empty and list(frame.columns) == exports.PROBLEM_COLUMNS


def test_imports_frame_lists_every_imported_file(built: Path) -> None:
    con = store.connect(built, read_only=True)
    try:
        frame = exports.imports_frame(con)
        files = store.scalar(con, "SELECT count(*) FROM import_files")
    finally:
        con.close()
    assert len(frame) == files
    assert list(frame.columns[:9]) == exports.IMPORT_COLUMNS
