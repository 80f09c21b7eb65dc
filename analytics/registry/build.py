"""``kuomian build``: run the registry steps (:data:`PIPELINE`: the numbered
``.sql`` files beside this module and the Python steps between them) for an
as-of date, and keep the result as a new registry version (its record committed
in one transaction: :func:`build_one`).

Snapshots are kept for every imported as-of date up to the one asked for, so
history, trends and the ranking's training data can be read; a date is built
again only when what its snapshot depends on changed (its key:
:mod:`analytics.registry.keys`), so importing a new quarter builds that quarter
only. The current version switches only when everything is written: readers
always see one consistent registry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analytics import published, store
from analytics.config import Config, load_config, memory_bytes
from analytics.registry.errors import BuildError
from analytics.registry.in_force import create_event_kinds, define_in_force, event_kinds
from analytics.registry.keys import model_key, snapshot_keys
from analytics.registry.runner import PythonStep, SqlStep, Step, run_steps, step_label
from analytics.registry.versions import snapshot_dates, version_for  # noqa: F401
from analytics.sources import load_sources

# progress(step, n, N) before each step of one date (runner.run_steps).
StepProgress = Callable[[Step, int, int], None]

STEPS_DIR = Path(__file__).parent
# The marts kept for each version (temp table mart_X -> persistent reg_X).
MARTS = (
    "persons",
    "targets_ranked",
    "kpi",
    "entities",
    "evidence",
    "duplicates",
    "enrollments",
)
# The kpi export's fixed gap columns are toward these goal years (data contract);
# the gaps of any other configured year follow the other columns.
CONTRACT_GOAL_YEARS = (2025, 2035)


@dataclass
class BuildContext:
    """What the Python steps read (the date, region, configuration) and what
    the score step leaves for the version's record."""

    con: duckdb.DuckDBPyConnection
    as_of: dt.date
    region: str
    cfg: Config
    learn: bool
    model: str = "prior"
    report: dict = field(default_factory=dict)


def code_hash(cfg: Config) -> str:
    """The steps' code (SQL files, the Python steps and runner of this package,
    the ranking) and the configuration a snapshot is built with."""
    h = hashlib.sha256()
    python = [Path(__file__), *(Path(__file__).with_name(f) for f in ("runner.py", "in_force.py"))]
    for p in [*steps(), *python, *_ranking().code_files()]:
        h.update(p.read_bytes())
    h.update(repr(cfg).encode())
    h.update(repr(event_kinds()).encode())
    return h.hexdigest()[:16]


def _params(con: duckdb.DuckDBPyConnection, as_of: dt.date, region: str, cfg: Config) -> None:
    g = cfg.groups
    con.execute("""CREATE OR REPLACE TEMP TABLE params (
        as_of DATE, region VARCHAR, income_threshold DOUBLE, stable_months INTEGER,
        platform_occupations VARCHAR[], freelance_practice_types VARCHAR[],
        subsidy_categories VARCHAR[], other_categories VARCHAR[],
        severe_disability_levels VARCHAR[], primary_group_order INTEGER[])""")
    con.execute(
        "INSERT INTO params VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            as_of,
            region,
            g.income_threshold,
            g.stable_employment_months,
            list(g.platform_occupations),
            list(g.freelance_practice_types),
            list(g.subsidy_categories),
            list(g.other_categories),
            list(g.severe_disability_levels),
            list(g.primary_group_order),
        ],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE goals "
        "(year INTEGER, coverage DECIMAL(18, 6), structure DECIMAL(18, 6))"
    )
    for goal in cfg.goals:
        # Decimal goals keep ceil(goal × n − k) exact (0.95 × 100 is 95, not 95.000…01).
        con.execute(
            "INSERT INTO goals VALUES (?, CAST(? AS VARCHAR)::DECIMAL(18, 6), "
            "CAST(? AS VARCHAR)::DECIMAL(18, 6))",
            [goal.year, repr(goal.coverage), repr(goal.structure)],
        )
    if not set(CONTRACT_GOAL_YEARS) <= {goal.year for goal in cfg.goals}:
        raise BuildError("配置中缺少2025或2035年目标 (goals for 2025 and 2035 are required)")
    create_event_kinds(con)


def _params_step(ctx: BuildContext) -> None:
    _params(ctx.con, ctx.as_of, ctx.region, ctx.cfg)


def _ranking():
    """The ranking's score step (:mod:`analytics.ranking.score`)."""
    # Heavy optional dependency deferred: the score step loads scikit-learn, and
    # exports import this module; scikit-learn loads only for a build.
    # OpenMP threads that sleep instead of spinning while they wait: with the app
    # and other work on a 2-core machine, spinning threads starve each other (the
    # score step at 30k people, load 9: 221 s spinning, 12 s passive, 27.5 s on
    # one thread). Read once, when OpenMP loads with scikit-learn; a user's own
    # setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from analytics.ranking import score

    return score


# DuckDB's memory while the score step's frames exist: the learned step's
# frames (the history) are the build's largest; a date scored by the prior has
# a few hundred MB of frames. At a million people the first build's peak was
# 2.7 GiB with 1 GB on every date, and so with 2 GB on the prior's dates, which
# spill less (13 s less of 126 s; nothing at all on the prior's dates: 3.2 GiB).
SCORE_MEMORY_LIMIT = "1GB"
PRIOR_MEMORY_LIMIT = "2GB"
# The staging and linking table the steps after the score step read (410): the
# rest of a date's stg_ and int_ tables are done with by then.
_AFTER_SCORE = {"int_targets"}


def _release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the date's staging and linking tables before the score step's frames
    come: DuckDB's memory then holds the marts only (at a million people the
    build's peak was the score step's frames on top of every table of the date)."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary "
        "AND (starts_with(table_name, 'stg_') OR starts_with(table_name, 'int_'))"
    ).fetchall():
        if name not in _AFTER_SCORE:
            con.execute(f'DROP TABLE temp.main."{name}"')


def _memory_limit(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    # Checked by analytics.config (a number and a unit), so safe to format in.
    con.execute(f"SET memory_limit = '{cfg.limits.build_memory_limit}'")


def _score_step(ctx: BuildContext) -> None:
    con = ctx.con
    _release(con)
    # The score step's frames are in pandas, beside DuckDB: DuckDB gives up what it
    # holds beyond the limit (the marts go to its temp directory) while they are
    # made, and has its limit back for the steps after.
    limit = min(
        SCORE_MEMORY_LIMIT if ctx.learn else PRIOR_MEMORY_LIMIT,
        ctx.cfg.limits.build_memory_limit,
        key=memory_bytes,  # never above the configured limit
    )
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        ctx.model, ctx.report = _ranking().score_targets(con, ctx.as_of, ctx.learn)
    finally:
        _memory_limit(con, ctx.cfg)


def _other_goal_years(ctx: BuildContext) -> None:
    """Add ``coverage_gap_YYYY, structure_gap_YYYY`` to mart_kpi, after its columns,
    for each configured goal year beyond the contract's two (int_kpi_gaps has them)."""
    con = ctx.con
    for year in sorted(g.year for g in ctx.cfg.goals if g.year not in CONTRACT_GOAL_YEARS):
        cov, struct = f"coverage_gap_{int(year)}", f"structure_gap_{int(year)}"
        con.execute(f"ALTER TABLE mart_kpi ADD COLUMN {cov} BIGINT")
        con.execute(f"ALTER TABLE mart_kpi ADD COLUMN {struct} BIGINT")
        con.execute(
            f"""UPDATE mart_kpi k SET {cov} = g.coverage_gap, {struct} = g.structure_gap
                        FROM int_kpi_gaps g
                        WHERE g.year = ? AND g.level = k.level
                          AND g.code IS NOT DISTINCT FROM k.code""",
            [year],
        )


# The registry build, in order: staging (stg_: the rows in force, one kind per
# file), intermediate (int_: link and derive) and the marts pages and exports
# read (mart_: kept as reg_ per version). A test checks that every numbered
# file of STEPS_DIR is listed here once, in the order of its number.
PIPELINE: tuple[SqlStep | PythonStep, ...] = (
    PythonStep("params", _params_step, table="params"),
    SqlStep("000_macro_in_force.sql"),
    SqlStep("001_macro_age_on.sql"),
    SqlStep("099_stg_in_force.sql"),
    SqlStep("100_stg_hukou.sql"),
    SqlStep("101_stg_residence.sql"),
    SqlStep("102_stg_pension_enrollment.sql"),
    SqlStep("103_stg_market_entity.sql"),
    SqlStep("104_stg_taxpayer.sql"),
    SqlStep("105_stg_student.sql"),
    SqlStep("106_stg_inmate.sql"),
    SqlStep("107_stg_dibao.sql"),
    SqlStep("108_stg_tekun.sql"),
    SqlStep("109_stg_fanpin.sql"),
    SqlStep("110_stg_disability.sql"),
    SqlStep("111_stg_landless.sql"),
    SqlStep("112_stg_migrant_worker.sql"),
    SqlStep("113_stg_platform_worker.sql"),
    SqlStep("114_stg_licensed_professional.sql"),
    SqlStep("115_stg_income_assets.sql"),
    SqlStep("116_stg_other_eligible.sql"),
    SqlStep("117_stg_division.sql"),
    SqlStep("118_stg_death.sql"),
    SqlStep("119_stg_survey.sql"),
    SqlStep("120_stg_boundaries.sql"),
    SqlStep("200_int_death.sql"),
    SqlStep("210_int_population.sql"),
    SqlStep("220_int_enrollment_by_person.sql"),
    SqlStep("221_int_duplicate_enrollment.sql"),
    SqlStep("230_int_group_evidence.sql"),
    SqlStep("231_int_groups.sql"),
    SqlStep("240_int_survey_visits.sql"),
    SqlStep("241_int_survey_latest.sql"),
    SqlStep("250_int_person_features.sql"),
    SqlStep("260_int_areas.sql"),
    SqlStep("300_mart_persons.sql"),
    SqlStep("301_mart_evidence.sql"),
    SqlStep("302_mart_duplicates.sql"),
    SqlStep("303_mart_enrollments.sql"),
    SqlStep("310_mart_entities.sql"),
    SqlStep("320_int_kpi_counts.sql"),
    SqlStep("321_int_kpi_gaps.sql"),
    SqlStep("322_mart_kpi.sql"),
    PythonStep("other_goal_years", _other_goal_years, table="mart_kpi"),
    SqlStep("400_int_targets.sql"),
    PythonStep("score", _score_step, table="int_scores"),
    SqlStep("410_mart_targets_ranked.sql"),
)


def steps() -> list[Path]:
    """The SQL step files of the pipeline, in order."""
    return [STEPS_DIR / s.file for s in PIPELINE if isinstance(s, SqlStep)]


def _snapshot_tables(version: int) -> dict[str, str]:
    """The marts of one version as its snapshot file keeps them (a ``version`` column first)."""
    return {
        f"reg_{m}": f"SELECT {int(version)}::INTEGER AS version, * FROM mart_{m}" for m in MARTS
    }


# What the build reads of the stored versions: the training history (ranking.history).
STORED_FOR_BUILD = ("reg_persons",)


def _write_snapshot(con: duckdb.DuckDBPyConnection, db: Path, version: int, as_of: dt.date) -> None:
    """Write the version just committed into its snapshot file (the only copy of
    its marts: the import store keeps its record, not its rows), and let the
    dates built after it learn from it."""
    published.write_snapshot(con, db, version, as_of, _snapshot_tables(version))
    published.attach_stored(con, db, STORED_FOR_BUILD)


def _drop_old_copies(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Before the snapshot files were the only copy, the import store kept every
    version's marts too (``reg_<mart>`` tables). Their files are written if a
    version has none, and the tables go."""
    old = [f"reg_{m}" for m in MARTS if store.has_table(con, f"reg_{m}")]
    if not old:
        return
    sid = published.store_id(con)
    for version, as_of in con.execute("SELECT version, as_of FROM registry_versions").fetchall():
        if not published.snapshot_file(db, sid, version, as_of).exists():
            published.write_snapshot(
                con,
                db,
                version,
                as_of,
                {t: f"SELECT * FROM main.{t} WHERE version = {int(version)}" for t in old},
            )
    with _transaction(con):
        for t in old:
            con.execute(f"DROP TABLE main.{t}")


def build_one(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    region: str,
    cfg: Config,
    data_seq: int,
    chash: str,
    debug: bool = False,
    learn: bool = True,
    keys: tuple[str, str | None] = ("", None),
    progress: StepProgress | None = None,
) -> int:
    """Build the registry for one date and commit its version's record; ``keys``
    are its snapshot key and, when it learns, its model key.

    The steps run outside a transaction: they make temp tables only, which no
    reader sees and the connection's end removes, and a temp table dropped inside
    a transaction keeps its memory until the commit. With the date's steps in one
    transaction, the score step's lower memory limit (:func:`_score_step`) wrote
    every staging table :func:`_release` had dropped to DuckDB's temp directory:
    3.7 s of a million-person build, and at ten million 23 GB, until the disk
    was full. A failed step leaves no record, as before: only the record makes a
    version."""
    ctx = BuildContext(con, as_of, region, cfg, learn)
    run_steps(con, PIPELINE, STEPS_DIR, ctx, debug, progress)
    model, report = ctx.model, ctx.report
    persons, legal, targets = store.one(
        con, "SELECT count(*), count(*) FILTER (WHERE legal), count(target_type) FROM mart_persons"
    )
    entities = store.scalar(con, "SELECT count(*) FROM mart_entities")
    with _transaction(con):
        # Never a number used before: a rollback deletes versions (meta last_version).
        version = store.scalar(
            con,
            "SELECT greatest(coalesce(max(version), 0), coalesce((SELECT value::INTEGER "
            "FROM meta WHERE key = 'last_version'), 0)) + 1 FROM registry_versions",
        )
        con.execute(
            "INSERT INTO registry_versions (version, as_of, built_at, data_seq, code_hash, "
            "persons, legal_population, targets, entities, model, snapshot_key, model_key) "
            "VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [version, as_of, data_seq, chash, persons, legal, targets, entities, model, *keys],
        )
        con.execute(
            "INSERT INTO model_reports VALUES (?, ?, ?)",
            [version, as_of, _ranking().report_json(report)],
        )
        # The goals the gaps were computed with, exactly (DECIMAL), read by goals_of.
        con.execute(
            "INSERT INTO registry_goals SELECT ?, year, coverage, structure FROM goals "
            "ORDER BY year",
            [version],
        )
    return version


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _build_date(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    region: str,
    cfg: Config,
    chash: str,
    debug: bool,
    keys: tuple[str, str | None],
    progress: StepProgress | None = None,
) -> int:
    """Build one date's snapshot: a history snapshot keeps the prior (no model
    key); the date asked for learns from the snapshots before it."""
    seq = store.scalar(
        con, "SELECT coalesce(max(import_seq), 0) FROM import_batches WHERE as_of <= ?", [as_of]
    )
    learn = keys[1] is not None
    return build_one(
        con, as_of, region, cfg, seq, chash, debug, learn=learn, keys=keys, progress=progress
    )


def _reusable(
    con: duckdb.DuckDBPyConnection, db: Path, as_of: dt.date, key: str, learned: str | None
) -> int | None:
    """The stored snapshot of ``as_of`` with this key (and, for the date asked for,
    this model key) whose file is there, if any."""
    sid = published.store_id(con)
    rows = con.execute(
        "SELECT version FROM registry_versions WHERE as_of = ? AND snapshot_key = ? "
        "AND (CAST(? AS VARCHAR) IS NULL OR model_key = ?) ORDER BY version DESC",
        [as_of, key, learned, learned],
    ).fetchall()
    for (version,) in rows:
        if published.snapshot_file(db, sid, version, as_of).exists():
            return int(version)
    return None


def prune(con: duckdb.DuckDBPyConnection) -> None:
    """Keep one snapshot per date, the newest, and never the version in use: it
    goes only in the transaction that switches to its successor."""
    current = int(store.get_meta(con, "current_version") or 0)
    old = [
        r[0]
        for r in con.execute("""
        SELECT version FROM registry_versions
        QUALIFY row_number() OVER (PARTITION BY as_of ORDER BY version DESC) > 1""").fetchall()
        if r[0] != current
    ]
    if not old:
        return
    # Their files go when no published version names them (published.publish).
    for table in ("registry_versions", "model_reports", "registry_goals"):
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, version)", [old])


def _hold_before_publishing() -> None:
    """With ``$KUOMIAN_HOLD_BUILD`` set to a path (tests and the load benchmark),
    the build says so in ``<path>.held`` and waits, with the import store open
    read-write and the writers' lock held, until that path exists (at most 10
    minutes): readers can then be shown to work during a build."""
    hold = os.environ.get("KUOMIAN_HOLD_BUILD")
    if not hold:
        return
    Path(hold + ".held").write_text(str(os.getpid()), encoding="ascii")
    deadline = time.monotonic() + 600
    while not Path(hold).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def build_registry(
    db: str | Path | None = None,
    as_of: dt.date | None = None,
    debug: bool = False,
    config: Config | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict:
    """Build the registry for ``as_of`` (default: the newest imported date) and
    make it the current one. Earlier imported dates without an up-to-date
    snapshot are built too, so history is complete. ``progress(message,
    fraction)`` is called before each step of each date built (``构建 2025-06-30
    步骤 12/48 关联 population``), the fraction over all of them."""
    cfg = config or load_config()
    db = Path(db) if db else store.default_db()
    try:
        with published.writer_lock(db, "构建"):
            return _build_locked(db, as_of, debug, cfg, progress)
    except published.WriterBusy as exc:
        raise BuildError(str(exc)) from exc


def _step_progress(
    progress: Callable[[str, float], None] | None, day: dt.date, done: int, todo: int
) -> StepProgress | None:
    """The runner's per-step callback for the ``done``-th of ``todo`` dates built."""
    if progress is None:
        return None
    label = load_sources().kind_label

    def report(step: Step, n: int, total: int) -> None:
        fraction = (done + (n - 1) / total) / todo
        progress(f"构建 {day} 步骤 {n}/{total} {step_label(step, label)}", fraction)

    return report


def _build_locked(
    db: Path,
    as_of: dt.date | None,
    debug: bool,
    cfg: Config,
    progress: Callable[[str, float], None] | None = None,
) -> dict:
    try:
        con = store.connect(db)
    except duckdb.Error as exc:
        raise BuildError(f"数据库无法打开 (database cannot be opened): {exc}") from exc
    try:
        _memory_limit(con, cfg)
        store.ensure_registry_schema(con)
        # Visits recorded in the app are survey rows too (the staging step reads both).
        store.attach_visits(con, db)
        dates = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT as_of FROM import_files ORDER BY as_of"
            ).fetchall()
        ]
        if not dates:
            raise BuildError("数据库中没有已导入的批次 (nothing imported yet): run kuomian import")
        target = as_of or dates[-1]
        if target < dates[0]:
            raise BuildError(
                f"{target} 早于所有已导入批次 (before every imported batch; the "
                f"first is {dates[0]})"
            )
        region = store.get_meta(con, "region_code") or cfg.region_code
        chash = code_hash(cfg)
        wanted = [d for d in dates if d < target] + [target]
        t0 = time.perf_counter()
        define_in_force(con)
        keys = snapshot_keys(con, wanted, f"{chash}|{region}")
        learned = model_key(keys, target)
        # A history snapshot is reused when its inputs are unchanged (whether it
        # learned when it was the date asked for or not: its persons are the same);
        # the date asked for only when it also learned from the same history.
        _drop_old_copies(con, db)
        published.attach_stored(con, db, STORED_FOR_BUILD)
        stale = [d for d in wanted[:-1] if _reusable(con, db, d, keys[d], None) is None]
        version = _reusable(con, db, target, keys[target], learned)
        # Each history snapshot commits on its own and then has its file, from
        # which the dates after it learn (one transaction for all of them held
        # every snapshot in memory to the end: peak RSS 1.5 → 2.3 GB at 120k).
        # The current version is not among them (it is the date
        # asked for, or an older build of another date, kept), and switches only
        # with the last commit: readers see one consistent registry.
        built = []
        # --debug is there to watch the steps of the date asked for: it builds it.
        todo = len(stale) + int(version is None or debug)
        # A version's file is written after its commit, and only then does it
        # replace the older snapshot of its date (prune) or become the one in use.
        for d in stale:
            steps = _step_progress(progress, d, len(built), todo)
            v = _build_date(con, d, region, cfg, chash, debug, (keys[d], None), steps)
            _write_snapshot(con, db, v, d)
            with _transaction(con):
                prune(con)
            built.append(d)
        if version is None or debug:
            steps = _step_progress(progress, target, len(built), todo)
            version = _build_date(
                con, target, region, cfg, chash, debug, (keys[target], learned), steps
            )
            _write_snapshot(con, db, version, target)
            built.append(target)
            with _transaction(con):
                store.set_meta(con, "current_version", str(version))
                prune(con)
        elif store.get_meta(con, "current_version") != str(version):
            with _transaction(con):
                store.set_meta(con, "current_version", str(version))
                prune(con)
        _hold_before_publishing()
        if progress:
            progress("发布实名库", 1.0)
        # Readers switch to the new registry only now, all of it at once.
        published.publish(con, db, "build")
        return {
            "as_of": target,
            "version": version,
            "dates_built": built,
            "seconds": round(time.perf_counter() - t0, 2),
        }
    except duckdb.Error as exc:
        # The steps name their file (runner); this is the bookkeeping around them.
        raise BuildError(f"构建失败 (build failed): {exc}") from exc
    finally:
        con.close()
