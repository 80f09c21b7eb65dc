"""``kuomian build``: run the registry steps (the numbered ``.sql`` files beside
this module) for an as-of date inside one transaction, score the targets, and
keep the result as a new registry version.

Snapshots are kept for every imported as-of date up to the one asked for, so
history, trends and the ranking's training data can be read; a date is built
again only when data or code changed since its snapshot. The current version
switches only when everything is written: readers always see one consistent
registry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

from analytics import store
from analytics.config import Config, load_config

STEPS_DIR = Path(__file__).parent
# The marts kept for each version (temp table mart_X -> persistent reg_X).
MARTS = ("persons", "targets_ranked", "kpi", "entities", "evidence", "duplicates")
VERSIONS_DDL = """
CREATE TABLE IF NOT EXISTS registry_versions (
    version INTEGER, as_of DATE, built_at TIMESTAMP, data_seq INTEGER, code_hash VARCHAR,
    persons BIGINT, legal_population BIGINT, targets BIGINT, entities BIGINT, model VARCHAR);
-- The ranking model's report (training dates and sizes, validation metrics) per version.
CREATE TABLE IF NOT EXISTS model_reports (version INTEGER, as_of DATE, report VARCHAR);
"""


class BuildError(Exception):
    """A build that cannot run; nothing was changed."""


def steps() -> list[Path]:
    return sorted(STEPS_DIR.glob("[0-9][0-9][0-9]_*.sql"))


def split_statements(sql: str) -> list[str]:
    """Statements of a step file (they end with ';' at a line end)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";").strip()]


def code_hash(cfg: Config) -> str:
    h = hashlib.sha256()
    for p in steps():
        h.update(p.read_bytes())
    for p in _ranking().code_files():
        h.update(p.read_bytes())
    h.update(repr(cfg).encode())
    return h.hexdigest()[:16]


def _params(con: duckdb.DuckDBPyConnection, as_of: dt.date, region: str, cfg: Config) -> None:
    g = cfg.groups
    con.execute("""CREATE OR REPLACE TEMP TABLE params (
        as_of DATE, region VARCHAR, income_threshold DOUBLE, stable_months INTEGER,
        platform_occupations VARCHAR[], freelance_practice_types VARCHAR[],
        subsidy_categories VARCHAR[], other_categories VARCHAR[],
        severe_disability_levels VARCHAR[], primary_group_order INTEGER[])""")
    con.execute("INSERT INTO params VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        as_of, region, g.income_threshold, g.stable_employment_months,
        list(g.platform_occupations), list(g.freelance_practice_types),
        list(g.subsidy_categories), list(g.other_categories),
        list(g.severe_disability_levels), list(g.primary_group_order)])
    con.execute("CREATE OR REPLACE TEMP TABLE goals "
                "(year INTEGER, coverage DECIMAL(18, 6), structure DECIMAL(18, 6))")
    for goal in cfg.goals:
        # Decimal goals keep ceil(goal × n − k) exact (0.95 × 100 is 95, not 95.000…01).
        con.execute("INSERT INTO goals VALUES (?, CAST(? AS VARCHAR)::DECIMAL(18, 6), "
                    "CAST(? AS VARCHAR)::DECIMAL(18, 6))",
                    [goal.year, repr(goal.coverage), repr(goal.structure)])
    if not {2025, 2035} <= {goal.year for goal in cfg.goals}:
        raise BuildError("配置中缺少2025或2035年目标 (goals for 2025 and 2035 are required)")


def run_steps(con: duckdb.DuckDBPyConnection, start: str | None = None,
              upto: str | None = None, debug: bool = False) -> None:
    """Execute the step files in order: those numbered from ``start`` and below
    ``upto`` when given."""
    for path in steps():
        if start is not None and path.name < start:
            continue
        if upto is not None and path.name >= upto:
            break
        for sql in split_statements(path.read_text(encoding="utf-8")):
            t0 = time.perf_counter()
            con.execute(sql)
            if debug:
                head = " ".join(sql.split())[:100]
                table = sql.split("TABLE", 1)[1].split()[0] if " TABLE " in sql else ""
                n = store.scalar(con, f"SELECT count(*) FROM {table}") if table else ""
                print(f"[{path.name}] {head} … rows={n} {time.perf_counter() - t0:.3f}s",
                      file=sys.stderr)


def _ranking():
    """The ranking's score step (:mod:`analytics.ranking.score`)."""
    # Heavy optional dependency deferred: the score step loads scikit-learn, and
    # exports import this module; scikit-learn loads only for a build.
    from analytics.ranking import score

    return score


def _persist(con: duckdb.DuckDBPyConnection, version: int) -> None:
    for mart in MARTS:
        table = f"reg_{mart}"
        exists = store.has_table(con, table)
        new_cols = [r[0] for r in con.execute(f"DESCRIBE mart_{mart}").fetchall()]
        if exists:
            old_cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()][1:]
            if old_cols != new_cols:
                # The steps changed shape: old snapshots of this mart cannot be kept.
                con.execute(f"DROP TABLE {table}")
                exists = False
        if not exists:
            con.execute(f"CREATE TABLE {table} AS SELECT 0::INTEGER AS version, * "
                        f"FROM mart_{mart} LIMIT 0")
        con.execute(f"INSERT INTO {table} SELECT {int(version)}::INTEGER AS version, * "
                    f"FROM mart_{mart}")


def build_one(con: duckdb.DuckDBPyConnection, as_of: dt.date, region: str, cfg: Config,
              data_seq: int, chash: str, debug: bool = False, learn: bool = True) -> int:
    """Build the registry for one date inside the caller's transaction."""
    version = store.scalar(con, "SELECT coalesce(max(version), 0) + 1 FROM registry_versions")
    _params(con, as_of, region, cfg)
    run_steps(con, upto="090", debug=debug)
    model, report = _ranking().score_targets(con, as_of, learn)
    run_steps(con, start="090", debug=debug)
    _persist(con, version)
    persons, legal, targets = store.one(con, 
        "SELECT count(*), count(*) FILTER (WHERE legal), count(target_type) FROM mart_persons"
    )
    entities = store.scalar(con, "SELECT count(*) FROM mart_entities")
    con.execute("INSERT INTO registry_versions VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
                [version, as_of, data_seq, chash, persons, legal, targets, entities, model])
    con.execute("INSERT INTO model_reports VALUES (?, ?, ?)",
                [version, as_of, _ranking().report_json(report)])
    return version


def prune(con: duckdb.DuckDBPyConnection) -> None:
    """Keep one snapshot per date, the newest, and never the version in use: it
    goes only in the transaction that switches to its successor."""
    current = int(store.get_meta(con, "current_version") or 0)
    old = [r[0] for r in con.execute("""
        SELECT version FROM registry_versions
        QUALIFY row_number() OVER (PARTITION BY as_of ORDER BY version DESC) > 1""").fetchall()
        if r[0] != current]
    if not old:
        return
    for table in [f"reg_{mart}" for mart in MARTS] + ["registry_versions", "model_reports"]:
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, version)", [old])


def build_registry(db: str | Path | None = None, as_of: dt.date | None = None,
                   debug: bool = False, config: Config | None = None) -> dict:
    """Build the registry for ``as_of`` (default: the newest imported date) and
    make it the current one. Earlier imported dates without an up-to-date
    snapshot are built too, so history is complete."""
    cfg = config or load_config()
    con = store.connect(db)
    try:
        con.execute(VERSIONS_DDL)
        # Visits recorded in the app are survey rows too (the staging step reads both).
        store.attach_visits(con, db or store.default_db())
        dates = [r[0] for r in con.execute(
            "SELECT DISTINCT as_of FROM import_files ORDER BY as_of").fetchall()]
        if not dates:
            raise BuildError("数据库中没有已导入的批次 (nothing imported yet): run kuomian import")
        target = as_of or dates[-1]
        if target < dates[0]:
            raise BuildError(f"{target} 早于所有已导入批次 (before every imported batch; the "
                             f"first is {dates[0]})")
        region = store.get_meta(con, "region_code") or cfg.region_code
        chash = code_hash(cfg)
        wanted = [d for d in dates if d < target] + [target]
        t0 = time.perf_counter()
        built = []
        for d in wanted:
            seq = store.scalar(con, "SELECT coalesce(max(import_seq), 0) FROM import_batches "
                               "WHERE as_of <= ?", [d])
            have = store.one(con, "SELECT data_seq, code_hash FROM registry_versions "
                               "WHERE as_of = ?", [d])
            if d != target and have == (seq, chash):
                continue
            # Each history snapshot commits on its own, so the date asked for reads
            # them committed: DuckDB 2.0 did not show a scan the rows of a table
            # created and filled earlier in the same transaction (at 120k people the
            # model saw no history). The current version is not among them (it is
            # the date asked for, or an older build of another date, kept), and
            # switches only with the last commit: readers see one consistent registry.
            con.execute("BEGIN TRANSACTION")
            try:
                # History snapshots keep the prior; the date asked for learns from them.
                version = build_one(con, d, region, cfg, seq, chash, debug, learn=(d == target))
                if d == target:
                    store.set_meta(con, "current_version", str(version))
                prune(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            built.append((d, version))
        return {"as_of": target, "version": version, "dates_built": [d for d, _ in built],
                "seconds": round(time.perf_counter() - t0, 2)}
    finally:
        con.close()


def version_for(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> tuple[int, dt.date]:
    """The registry version to read: the current one, or the snapshot of ``as_of``."""
    try:
        if as_of is None:
            current = store.get_meta(con, "current_version")
            row = store.one(con, "SELECT version, as_of FROM registry_versions WHERE version = ?",
                              [int(current)]) if current else None
        else:
            row = store.one(con, "SELECT version, as_of FROM registry_versions WHERE as_of = ? "
                                 "ORDER BY version DESC LIMIT 1",
                              [as_of])
    except duckdb.CatalogException:
        row = None
    if row is None:
        when = f" for {as_of}" if as_of else ""
        raise BuildError(f"还没有构建实名库{when} (no registry built{when}): run kuomian build")
    return int(row[0]), row[1]


def snapshot_dates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT version, as_of FROM registry_versions ORDER BY as_of").df()
