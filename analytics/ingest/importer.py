"""``kuomian import``: batch folders in, accepted rows, problem data and an
accounting out, exactly as shared/data-contract.md describes.

Each batch is read into temporary DuckDB tables, checked in SQL and written
before the next is read, under a memory limit, so memory does not grow with
the number of batches; all batches of one command land in one transaction, or
none does.

The temporary tables live on a second connection to the same database (a
cursor) that commits each statement: DuckDB keeps a table dropped inside a
transaction until the transaction ends, so a batch's tables dropped inside the
command's transaction would stay to its end, every batch's on top of the last,
spilling to disk past the memory limit. Checked rows reach the transaction as
Arrow streams (:mod:`analytics.ingest.writing`).

While one batch is checked and written, the next is read on a third
connection, in a thread (reading is mostly one core's work: Python, the Excel
reader; checking is DuckDB's, on both): its tables of cells go to an attached
in-memory database both connections see, with the value maps whose verdicts do
not depend on the region. Whatever the reading finds wrong is raised when the
batch is reached, after every batch before it was checked, so the first
failing batch is the one named, as when batches were read one after another.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analytics import published, store
from analytics.config import Config, load_config
from analytics.ingest.batches import batch_date, batch_files, expand_batches, manifest
from analytics.ingest.checks import (
    FOLD_PARAMS,
    Context,
    check_table,
    clean_sql,
    early_value_maps,
)
from analytics.ingest.loading import SCRATCH, Table, attach_scratch, load_file, raw_table
from analytics.ingest.records import BatchResult, FileReport, ImportRejected
from analytics.ingest.settle import (
    ISSUES_DDL,
    collect_issues,
    count_kind,
    count_warnings,
    settle_kind,
)
from analytics.ingest.timelimit import read_within
from analytics.ingest.writing import write_batch
from analytics.sources import Sources, load_sources
from analytics.textnorm import clean


def _region_from_data(con: duckdb.DuckDBPyConnection, tables: list[Table]) -> str | None:
    """The county a batch's data names: a 6-digit code (or its 12-digit form) in the
    division data, else the county most residents' address codes name."""

    def cells(kinds: tuple[str, ...], field: str) -> str:
        parts = [
            f"SELECT {t.seq} AS seq, pos, {clean_sql(f'c{t.located.columns[field]}')} "
            f"AS code FROM {t.raw} WHERE pos > {t.located.header_index}"
            for t in tables
            if t.kind.name in kinds
        ]
        return " UNION ALL ".join(parts)

    division = cells(("division",), "code")
    if division:
        found = con.execute(
            f"""SELECT code[:6] FROM ({division})
                WHERE regexp_full_match(code, '[0-9]+')
                  AND (length(code) = 6 OR (length(code) = 12 AND suffix(code, '000000')))
                ORDER BY seq, pos LIMIT 1""",
            FOLD_PARAMS,
        ).fetchone()
        if found:
            return found[0]
    residents = cells(("hukou", "residence"), "address_code")
    if residents:
        found = con.execute(
            f"""SELECT code[:6] AS county FROM ({residents})
                WHERE length(code) = 12 AND regexp_full_match(code, '[0-9]+')
                GROUP BY county ORDER BY count(*) DESC, min([seq, pos]) LIMIT 1""",
            FOLD_PARAMS,
        ).fetchone()
        if found:
            return found[0]
    return None


def _resolve_region(
    manifest: dict[str, Any],
    con: duckdb.DuckDBPyConnection,
    tables: list[Table],
    configured: str,
    known: str | None,
) -> str:
    """The batch's region: the manifest's, the configuration's, the database's
    (``known``: set by the first batch imported), else the one its data names."""
    region = str(manifest.get("region_code") or "").strip()
    region = region or configured or (known or "")
    if not region:
        found = _region_from_data(con, tables)
        if found:
            return found
        raise ImportRejected(
            "无法确定本地区划代码 (cannot tell the region): add region_code to "
            "manifest.toml or the configuration",
            field="region_code",
        )
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        raise ImportRejected(
            f"region_code 应为6位数字 (must be 6 digits): {region!r}",
            file="manifest.toml",
            field="region_code",
        )
    if known and known != region:
        raise ImportRejected(
            f"本库的地区是 {known}，该批次是 {region} (this database holds region {known}, the "
            f"batch is for {region}): use another --db",
            field="region_code",
        )
    return region


def parse_boundaries(path: Path) -> list[dict[str, Any]]:
    """The features of a GeoJSON boundary file, unchecked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        return data["features"] if data.get("type") == "FeatureCollection" else [data]
    except (ValueError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise ImportRejected(
            f"{path.name}: 不是有效的 GeoJSON (not valid GeoJSON): {exc}", file=path.name
        ) from exc


def check_boundaries(
    name: str, features: list[dict[str, Any]], region: str
) -> tuple[list[dict[str, Any]], FileReport, list[str]]:
    """The features of the boundary file ``name`` kept, with a report and the
    reasons of rejected features."""
    out, errors = [], []
    for i, feat in enumerate(features, start=1):
        props = feat.get("properties") or {}
        code = clean(str(props.get("code", "") or ""))
        label = clean(str(props.get("name", "") or ""))
        geom = feat.get("geometry")
        if len(code) == 12 and code.endswith("000"):
            code = code[:9]
        level = {6: "city", 9: "street", 12: "community"}.get(len(code))
        if not (
            code
            and code.isascii()
            and code.isdigit()
            and level
            and geom
            and code.startswith(region)
        ):
            errors.append(f"feature {i}: code {code!r}")
            continue
        out.append(
            {
                "code": code,
                "name": label,
                "level": props.get("level") or level,
                "geometry": json.dumps(geom, ensure_ascii=False),
            }
        )
    report = FileReport(
        "",
        dt.date.min,
        name,
        "boundaries",
        read=len(features),
        accepted=len(out),
        problems=len(errors),
        encoding="geojson",
    )
    return out, report, errors


def read_boundaries(path: Path, region: str) -> tuple[list[dict[str, Any]], FileReport, list[str]]:
    """Features of a GeoJSON boundary file, with a report and the reasons of rejected features."""
    return check_boundaries(path.name, parse_boundaries(path), region)


def _check_kinds(
    con: duckdb.DuckDBPyConnection,
    tables: list[Table],
    ctx: Context,
    sources: Sources,
    reports: dict[int, FileReport],
    maps: dict[int, dict[str, str]] | None = None,
) -> list[str]:
    """Check every table, settle each kind; the kinds (in table order) with rows read.
    ``maps`` holds the value maps made while the batch was read, by table and field."""
    maps = maps or {}
    by_kind: dict[str, list[Table]] = {}
    for t in tables:
        by_kind.setdefault(t.kind.name, []).append(t)
    for ts in by_kind.values():
        checked = [check_table(con, t, ctx, sources, maps.get(t.seq)) for t in ts]
        settled = settle_kind(con, ts[0].kind, checked)
        count_kind(con, settled, reports)
        collect_issues(con, ts[0].kind, settled, ts)
        for t in ts:
            con.execute(f"DROP TABLE {t.raw}")
            for made in maps.get(t.seq, {}).values():
                con.execute(f"DROP TABLE {made}")
    count_warnings(con, reports)
    return list(by_kind)


@dataclass
class LoadedBatch:
    """A batch folder whose tables of cells are read (:func:`load_batch`), not checked."""

    folder: Path
    meta: dict[str, Any]
    as_of: dt.date
    geo: list[Path]
    ignored: list[str]
    tables: list[Table]
    # The features of the batch's one boundary file, or why it cannot be read (raised
    # where the batch's checks reach the file, so errors keep their order).
    features: list[dict[str, Any]] | None = None
    unreadable: ImportRejected | None = None
    # The value maps made as the tables were read (early_value_maps), by table and field.
    maps: dict[int, dict[str, str]] = field(default_factory=dict)


def load_batch(
    folder: Path,
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    workdir: Path,
    *,
    config: Config,
    today: dt.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    tag: str = "0",
    stop: threading.Event | None = None,
) -> LoadedBatch:
    """Read a batch folder's tables of cells into :data:`SCRATCH` on ``con``
    (named by ``tag``), each file within ``[limits] file_read_seconds``; nothing is
    checked. ``stop``, once set, ends the reading before the next file."""
    limits = config.limits
    if not folder.is_dir():
        raise ImportRejected(f"{folder}: 不是文件夹 (not a batch folder)", file=str(folder))
    meta = manifest(folder)
    as_of = batch_date(folder, meta, today)
    tabular, geo, ignored = batch_files(folder)
    if not tabular and not geo:
        raise ImportRejected(
            f"{folder.name}: 没有可导入的文件 (no .csv/.xlsx/.geojson files)", file=folder.name
        )
    attach_scratch(con)
    tables: list[Table] = []
    maps: dict[int, dict[str, str]] = {}
    for k, p in enumerate(tabular):
        if stop is not None and stop.is_set():
            break
        if progress:
            progress(p.name, k, len(tabular) + len(geo))
        seq = len(tables)
        tables += read_within(
            con,
            limits.file_read_seconds,
            folder.name,
            p.name,
            lambda p=p, seq=seq: load_file(con, p, sources, seq, workdir, limits, folder.name, tag),
        )
        for t in tables[seq:]:
            maps[t.seq] = early_value_maps(
                con, t, as_of, sources, lambda f, t=t: raw_table(tag, t.seq, f"map_{f}")
            )
    loaded = LoadedBatch(folder, meta, as_of, geo, ignored, tables, maps=maps)
    if len(geo) == 1 and not (stop is not None and stop.is_set()):
        if progress:
            progress(geo[0].name, len(tabular), len(tabular) + len(geo))
        try:
            loaded.features = read_within(
                con,
                limits.file_read_seconds,
                folder.name,
                geo[0].name,
                lambda: parse_boundaries(geo[0]),
            )
        except ImportRejected as exc:
            loaded.unreadable = exc
    return loaded


def check_batch(
    loaded: LoadedBatch,
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    *,
    config: Config,
    known_region: str | None = None,
) -> tuple[BatchResult, list[str]]:
    """Check a read batch into temporary tables of ``con``; nothing is written.
    Its tables of cells are dropped as they are checked. ``known_region`` is the
    region the database already holds.

    Returns the result and the source file of each table, by its place."""
    folder, tables, geo = loaded.folder, loaded.tables, loaded.geo
    region = _resolve_region(loaded.meta, con, tables, config.region_code, known_region)
    result = BatchResult(folder.name, loaded.as_of, region, str(folder.resolve()))
    result.notices = [f"已忽略 (ignored, not a data file): {n}" for n in loaded.ignored]
    reports = {
        t.seq: FileReport(
            folder.name,
            loaded.as_of,
            t.source_file,
            t.kind.name,
            encoding=t.encoding,
            sheet=t.sheet,
            header_row=t.header_row,
        )
        for t in tables
    }
    result.files = list(reports.values())
    con.execute(ISSUES_DDL)
    kinds = _check_kinds(con, tables, Context(loaded.as_of, region), sources, reports, loaded.maps)
    result.kinds_accepted = kinds
    if len(geo) > 1:
        raise ImportRejected(
            f"{folder.name}: 一个批次只能有一个边界文件 (one GeoJSON per batch): "
            + "、".join(p.name for p in geo),
            file=geo[1].name,
        )
    for p in geo:
        if loaded.unreadable is not None:
            raise loaded.unreadable
        feats, report, errors = check_boundaries(p.name, loaded.features or [], region)
        report.batch, report.as_of = folder.name, loaded.as_of
        result.boundaries = feats
        result.files.append(report)
        if errors:
            con.executemany(
                "INSERT INTO _ingest_issues VALUES (1, 0, 0, 0, ?, ?, 0, 'boundaries', "
                "'invalid_address_code', '', ?, 'error', 'code', ?)",
                [[i, p.name, e, e] for i, e in enumerate(errors)],
            )
    return result, [t.source_file for t in tables]


def read_batch(
    folder: Path,
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    workdir: Path,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    known_region: str | None = None,
) -> tuple[BatchResult, list[str]]:
    """Read and check one batch folder into temporary tables of ``con``; nothing is
    written. ``today`` (default: the machine's date) is the latest as-of date
    allowed; ``progress(file name, files done, files)`` is called before each file
    is read; ``known_region`` is the region the database already holds.

    Returns the result and the source file of each table, by its place."""
    config = config or load_config()
    loaded = load_batch(
        folder, con, sources, workdir, config=config, today=today, progress=progress
    )
    return check_batch(loaded, con, sources, config=config, known_region=known_region)


def _drop_temporary(con: duckdb.DuckDBPyConnection) -> None:
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE temporary AND starts_with(table_name, '_ingest_')"
    ).fetchall():
        con.execute(f'DROP TABLE "{name}"')


def import_batches(
    paths: Iterable[str | Path],
    db: str | Path | None = None,
    progress: Callable[[str, float], None] | None = None,
    *,
    config: Config | None = None,
    today: dt.date | None = None,
) -> list[BatchResult]:
    """Import batch folders (or zips) in one transaction: all land, or none does.
    ``config`` defaults to :func:`load_config`'s; ``today`` to the machine's date."""
    config = config or load_config()
    db = Path(db) if db else store.default_db()
    try:
        with published.writer_lock(db, "导入"):
            return _import_locked(paths, db, progress, config, today)
    except published.WriterBusy as exc:
        raise ImportRejected(str(exc)) from exc


# How many batches after the one being checked may be read already: each holds its
# cells in memory (under the import's memory limit, spilling past it). 1M demo,
# the same hour: 1 ahead 72.1/68.6 s, 2 ahead 69.2/67.9 s, 3 ahead 65.5/106.9 s
# (a noisy run), peak 1.81, 1.78 and 1.96 GB.
READ_AHEAD = 2


class _Progress:
    """The import's progress line, told by the thread that reads batches ahead and
    the one that checks them; each batch an equal share of the bar, each file of
    it an equal part."""

    def __init__(self, report: Callable[[str, float], None], batches: int) -> None:
        self.report = report
        self.batches = batches
        self.lock = threading.Lock()

    def files(self, i: int) -> Callable[[str, int, int], None]:
        def each_file(name: str, done: int, files: int) -> None:
            with self.lock:
                self.report(f"读取 {name}", (i + done / max(files, 1)) / self.batches)

        return each_file


def _import_locked(
    paths: Iterable[str | Path],
    db: Path,
    progress: Callable[[str, float], None] | None,
    config: Config,
    today: dt.date | None,
) -> list[BatchResult]:
    sources = load_sources()
    con = store.connect(db)
    stage = con.cursor()  # the batches' temporary tables, outside the transaction
    # Reads the next batch's files while one is checked and written: reading is
    # mostly one core's work (Python, the Excel reader), checking DuckDB's.
    ahead = con.cursor()
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kuomian-read")
    stop = threading.Event()
    workdir = Path(tempfile.mkdtemp(prefix="kuomian-import-"))
    try:
        # DuckDB spills to disk above this; the rest of the process stays well below it.
        # The value is checked by analytics.config (a number and a unit), so it is safe here.
        con.execute(f"SET memory_limit = '{config.limits.memory_limit}'")
        attach_scratch(con)
        folders = expand_batches(
            [Path(p) for p in paths], workdir, config.limits.max_unzipped_bytes
        )
        told = _Progress(progress, len(folders)) if progress else None

        def load(i: int) -> LoadedBatch:
            return load_batch(
                folders[i],
                ahead,
                sources,
                workdir,
                config=config,
                today=today,
                progress=told.files(i) if told else None,
                tag=str(i),
                stop=stop,
            )

        results: list[BatchResult] = []
        con.execute("BEGIN TRANSACTION")
        try:
            seq = store.scalar(con, "SELECT coalesce(max(import_seq), 0) FROM import_batches")
            # Batches being read, oldest first: the one to check next and up to
            # READ_AHEAD after it (small batches are read while a large one is checked).
            pending: deque[Future[LoadedBatch]] = deque(
                reader.submit(load, k) for k in range(min(len(folders), READ_AHEAD + 1))
            )
            for i in range(len(folders)):
                # A batch's reading fails here, after every batch before it was checked.
                loaded = pending.popleft().result()
                if i + READ_AHEAD + 1 < len(folders):
                    pending.append(reader.submit(load, i + READ_AHEAD + 1))
                result, files = check_batch(
                    loaded,
                    stage,
                    sources,
                    config=config,
                    known_region=store.get_meta(con, "region_code"),
                )
                seq += 1
                write_batch(con, stage, result, sources, seq, files)
                # Only the report is kept: the batch's rows leave memory before the next.
                _drop_temporary(stage)
                result.boundaries = []
                results.append(result)
            con.execute("COMMIT")
        except BaseException:
            stop.set()
            ahead.interrupt()
            reader.shutdown(wait=True, cancel_futures=True)
            con.execute("ROLLBACK")
            raise
        # Readers see the new accounting and problems now; the registry in use
        # stays the one the last build made.
        published.publish(con, db, "import")
        if progress:
            progress("完成", 1.0)
        return results
    finally:
        stop.set()
        reader.shutdown(wait=True, cancel_futures=True)
        ahead.close()
        stage.close()
        con.execute(f"DETACH DATABASE IF EXISTS {SCRATCH}")
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)
