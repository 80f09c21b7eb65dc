"""``kuomian batches``: the imported batches, and rolling one back.

Rolling a batch back removes everything its import wrote, in one transaction:
its accepted rows (``src_<kind>``), its problem data and warnings, its
boundaries and its ``import_batches`` row; its files' accounting moves from
``import_files`` to ``import_files_replaced`` with no ``replaced_seq`` (rolled
back, not replaced by a later import), so ``kuomian export imports`` keeps
listing them with ``in_use`` false. Registry snapshots of dates no import is
left for go too (a later date's model would learn from them). Then the registry
is rebuilt, as if the batch had never been imported.

What a rollback cannot undo: when the batch replaced, for its date, the kinds of
an earlier batch, the importer deleted that batch's rows; the rollback names
those files (:attr:`Rollback.lost`), which must be imported again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics import published, store
from analytics.registry.build import MARTS, BuildError, build_registry
from analytics.sources import load_sources
from analytics.writes import CLI_USER, log_audit

# The columns of `kuomian batches list`, in order.
BATCH_COLUMNS = ["batch", "as_of", "imported_at", "kinds", "files", "accepted", "in_use"]

# Every imported batch (one row per import; a batch imported again is listed
# twice): its files and accepted rows, whether it was replaced or is still in use.
BATCHES_SQL = """
    WITH files AS (
        SELECT import_seq, source_file, kind, accepted, true AS in_use FROM import_files
        UNION ALL
        SELECT import_seq, source_file, kind, accepted, false FROM import_files_replaced
    )
    SELECT b.batch, b.as_of, b.imported_at,
           array_to_string(list_sort(b.kinds), ';') AS kinds,
           count(f.source_file) AS files, coalesce(sum(f.accepted), 0)::BIGINT AS accepted,
           coalesce(bool_or(f.in_use), false) AS in_use, b.import_seq
    FROM import_batches b LEFT JOIN files f USING (import_seq)
    GROUP BY ALL ORDER BY b.import_seq"""

# The registry's tables keyed by version (analytics/registry/build.py).
_VERSION_TABLES = (*(f"reg_{m}" for m in MARTS), "registry_versions", "model_reports")
_VERSION_TABLES += ("registry_goals",)


class RollbackError(Exception):
    """A rollback that cannot run (nothing was changed); the message says why."""


@dataclass
class LostFile:
    """A file of an earlier batch for the same date that the rolled-back batch
    replaced: its rows were deleted by that import and must be imported again."""

    batch: str
    as_of: dt.date
    kind: str
    source_file: str


@dataclass
class Rollback:
    """What a rollback removed, and what it could not restore."""

    batch: str
    as_of: dt.date
    imports: list[int]
    files: int
    accepted: int
    lost: list[LostFile] = field(default_factory=list)
    build: dict | None = None
    build_error: str | None = None

    def lines(self) -> list[str]:
        """The command's report, one line each."""
        imports = "、".join(f"#{s}" for s in self.imports)
        head = (
            f"已回滚批次 {self.batch}（数据日期 {self.as_of}，导入 {imports}）："
            f"{self.files} 个文件、"
            f"{self.accepted} 行已删除 (rolled back batch {self.batch}, as of {self.as_of}: "
            f"{self.files} file(s), {self.accepted} accepted row(s) removed)"
        )
        out = [head]
        for batch in sorted({f.batch for f in self.lost}):
            files = [f for f in self.lost if f.batch == batch]
            names = "、".join(sorted({f"{f.source_file}（{f.kind}）" for f in files}))
            out.append(
                f"注意：该批次导入时替换并删除了批次 {batch}（{files[0].as_of}）的 {names}，"
                f"无法恢复，请重新导入批次 {batch} (the earlier batch {batch} must be "
                "imported again: its rows for these kinds were replaced and are gone)"
            )
        if self.build:
            out.append(
                f"实名库已重建：{self.build['as_of']}（版本 {self.build['version']}）"
                f" (registry rebuilt for {self.build['as_of']}, version {self.build['version']})"
            )
        elif self.build_error:
            out.append(f"实名库重建失败 (the rebuild failed): {self.build_error}")
        else:
            out.append(
                "数据库中已没有任何批次，实名库已清空 (nothing imported is left: no registry)"
            )
        return out

    def detail(self) -> str:
        """The audit row's detail: the report in one line."""
        return " | ".join(self.lines())


def batches_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every imported batch: :data:`BATCH_COLUMNS`, then ``import_seq``."""
    frame = con.execute(BATCHES_SQL).df()
    frame["as_of"] = [pd.Timestamp(d).date() for d in frame["as_of"]]
    return frame


def list_batches(db: str | Path) -> pd.DataFrame:
    """:func:`batches_frame` of ``db``, read-only (empty before the first import)."""
    path = Path(db)
    if not path.exists():
        return pd.DataFrame(columns=[*BATCH_COLUMNS, "import_seq"])
    with store.reading(path) as con:
        if not store.has_table(con, "import_batches"):
            return pd.DataFrame(columns=[*BATCH_COLUMNS, "import_seq"])
        return batches_frame(con)


def _imports_of(
    con: duckdb.DuckDBPyConnection, batch: str, as_of: dt.date | None
) -> tuple[list[int], dt.date]:
    """The imports of ``batch`` (every import of that folder for its date)."""
    rows = con.execute(
        "SELECT import_seq, as_of FROM import_batches WHERE batch = ? "
        "AND (CAST(? AS DATE) IS NULL OR as_of = ?) ORDER BY import_seq",
        [batch, as_of, as_of],
    ).fetchall()
    if not rows:
        when = f"（数据日期 {as_of}）" if as_of else ""
        raise RollbackError(f"没有名为 {batch!r}{when} 的已导入批次 (no imported batch {batch!r})")
    dates = sorted({d for _, d in rows})
    if len(dates) > 1:
        raise RollbackError(
            f"有多个名为 {batch!r} 的批次，数据日期 {'、'.join(map(str, dates))}：请用 --as-of "
            f"指定 (several batches are named {batch!r}: add --as-of DATE)"
        )
    return [int(s) for s, _ in rows], dates[0]


def _drop_orphan_snapshots(con: duckdb.DuckDBPyConnection) -> None:
    """Delete the registry snapshots of dates no import is left for. The version
    in use stays readable: if its date is gone, the newest snapshot of a date
    still imported is used until the rebuild (or none, when there is none)."""
    if not store.has_table(con, "registry_versions"):
        return
    dates = "SELECT DISTINCT as_of FROM import_files"
    orphans = [
        r[0]
        for r in con.execute(
            f"SELECT version FROM registry_versions WHERE as_of NOT IN ({dates})"
        ).fetchall()
    ]
    if not orphans:
        return
    # A version number names one registry for good (the app caches reads by it):
    # the build numbers the next one after every number used (build.build_one).
    last = store.scalar(con, "SELECT max(version) FROM registry_versions")
    store.set_meta(
        con, "last_version", str(max(int(last), int(store.get_meta(con, "last_version") or 0)))
    )
    current = store.get_meta(con, "current_version")
    if current is not None and int(current) in orphans:
        fallback = store.scalar(
            con,
            f"SELECT version FROM registry_versions WHERE as_of IN ({dates}) "
            "ORDER BY as_of DESC, version DESC LIMIT 1",
        )
        if fallback is None:
            con.execute("DELETE FROM meta WHERE key = 'current_version'")
        else:
            store.set_meta(con, "current_version", str(fallback))
    for table in _VERSION_TABLES:
        if store.has_table(con, table):
            con.execute(f"DELETE FROM {table} WHERE list_contains(?, version)", [orphans])


def _remove(con: duckdb.DuckDBPyConnection, batch: str, as_of: dt.date | None) -> Rollback:
    """The rollback's writes, inside the caller's transaction."""
    seqs, day = _imports_of(con, batch, as_of)
    # The files in use are the newest import's: the files of an earlier import
    # of the same batch are already accounted as replaced (by the newest).
    files, accepted = store.one(
        con,
        "SELECT count(*), coalesce(sum(accepted), 0) FROM import_files "
        "WHERE list_contains(?, import_seq)",
        [seqs],
    )
    lost = [
        LostFile(*row)
        for row in con.execute(
            "SELECT batch, as_of, kind, source_file FROM import_files_replaced "
            "WHERE list_contains($seqs, replaced_seq) AND NOT list_contains($seqs, import_seq) "
            "ORDER BY batch, kind, source_file",
            {"seqs": seqs},
        ).fetchall()
    ]
    # A file that was rolled back has no replaced_seq: no later import replaced it.
    con.execute(
        "INSERT INTO import_files_replaced SELECT *, NULL FROM import_files "
        "WHERE list_contains(?, import_seq)",
        [seqs],
    )
    for table in ("import_files", "problems", "boundaries", "import_batches"):
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, import_seq)", [seqs])
    for kind in load_sources().kinds.values():
        table = store.kind_table(kind)
        if store.has_table(con, table):
            con.execute(
                f"DELETE FROM {table} WHERE as_of = ? AND batch = ? AND batch <> ?",
                [day, batch, store.FIELD_BATCH],
            )
    if not store.scalar(con, "SELECT count(*) FROM import_batches"):
        # Nothing imported is left: the database is as before the first import.
        con.execute("DELETE FROM meta WHERE key = 'region_code'")
    _drop_orphan_snapshots(con)
    return Rollback(batch, day, seqs, int(files), int(accepted), lost)


def remove_batch(db: str | Path, batch: str, as_of: dt.date | None = None) -> Rollback:
    """Roll ``batch`` back in one transaction (nothing changes when it fails);
    the registry is not rebuilt (:func:`remove_and_rebuild` does)."""
    path = Path(db)
    if not path.exists():
        raise RollbackError(f"数据库不存在 (database not found): {path}")
    with store.writing(), _writer(path):
        con = store.connect(path)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                result = _remove(con, batch, as_of)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            # Readers see the batch gone from the accounting and problem data now.
            published.publish(con, path, "rollback")
        finally:
            con.close()
    return result


@contextmanager
def _writer(db: Path) -> Iterator[None]:
    """The writers' lock (a second writer is told who holds it)."""
    try:
        with published.writer_lock(db, "回滚"):
            yield
    except published.WriterBusy as exc:
        raise RollbackError(str(exc)) from exc


def remove_and_rebuild(
    db: str | Path,
    batch: str,
    as_of: dt.date | None = None,
    user: str = CLI_USER,
    role: str | None = None,
) -> Rollback:
    """Roll ``batch`` back, then build the registry of the newest date left (as
    ``kuomian build`` does), and write one ``import`` row to the audit log for
    ``user`` (the app's user, or ``(命令行)``). A failed rebuild leaves the
    rollback done and the previous registry in use; the result says so
    (``build_error``)."""
    with store.writing(), _writer(Path(db)):
        result = remove_batch(db, batch, as_of)
        con = store.connect(db, read_only=True)
        try:
            left = store.scalar(con, "SELECT count(*) FROM import_files")
        finally:
            con.close()
        if left:
            try:
                result.build = build_registry(db)
            except BuildError as exc:
                result.build_error = " ".join(str(exc).split())
    log_audit(db, user, role, "import", f"batches remove {batch}", result.accepted, result.detail())
    return result


def remove_in_child(
    db: str | Path, batch: str, as_of: dt.date | None, user: str, role: str | None
) -> tuple[list[str], str | None]:
    """Run ``kuomian batches remove`` in a child process, as the app's upload runs
    its import and build (the server never opens the database read-write), for
    the app's ``user``: the report's lines, and the one-line reason when it failed
    (None when it did not)."""
    from analytics import workflow  # the child-process runner of the app's writes

    args = ["batches", "remove", "--db", str(db), "--audit-user", user]
    args += ["--audit-role", role] if role else []
    args += ["--as-of", as_of.isoformat()] if as_of else []
    with store.writing():
        status, out, lines = workflow._run([*args, "--", batch], None)
    report = [line for line in out.splitlines() if line.strip()]
    return report, (workflow._reason(lines, "batches") if status else None)
