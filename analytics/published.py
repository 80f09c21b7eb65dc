"""The published registry: complete, read-only versions that readers open while
a writer works, and the writers' lock. The layout is ``docs/architecture.md``'s:

    kuomian.registry/                  beside the import store kuomian.duckdb
      snapshots/<as_of>.v<n>.<store>.duckdb  one registry version's marts (reg_*)
      catalog/<m>.duckdb               what is not per date: accounting, problems,
                                       boundaries, batches, the versions' records
      versions/<m>.json                a published version: its catalog and snapshots
      CURRENT                          the number of the published version in use
      writer.lock                      the writers' lock: who holds it and since when

Writers (import, rollback, build) change the import store under
:func:`writer_lock`, commit, then :func:`publish`: new files are written under a
temporary name, fsynced and renamed; ``CURRENT`` is replaced last, atomically. A
reader (:func:`reader`) reads ``CURRENT`` once and attaches that version's files
read-only to an in-memory database, so it never takes or waits for a lock, and a
crash before the switch leaves the previous version in use.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import errno
import fcntl
import getpass
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

# What pages and exports read that is not one registry version's marts.
CATALOG_TABLES = (
    "meta",
    "import_batches",
    "import_files",
    "import_files_replaced",
    "problems",
    "boundaries",
    "registry_versions",
    "model_reports",
    "registry_goals",
    "src_survey",
)
# The marts of one registry version (reg_<mart>, a `version` column first).
SNAPSHOT_TABLES = (
    "reg_persons",
    "reg_targets_ranked",
    "reg_kpi",
    "reg_entities",
    "reg_evidence",
    "reg_duplicates",
    "reg_enrollments",
)
# Published versions kept: the one in use and the one before it (a page that
# began on it finishes on it).
KEEP = 2
WRITER_WAIT_SECONDS = float(os.environ.get("KUOMIAN_WRITER_WAIT", "30"))


class WriterBusy(RuntimeError):
    """Another import, rollback or build holds the writers' lock."""


def root(db: str | Path) -> Path:
    """The published registry folder of an import store (same folder and stem)."""
    path = Path(db)
    return path.with_name(path.stem + ".registry")


def current_number(db: str | Path) -> int | None:
    """The number of the published version in use, or None before the first."""
    try:
        return int((root(db) / "CURRENT").read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        return None


def manifest(db: str | Path, number: int) -> dict:
    return json.loads((root(db) / "versions" / f"{number}.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the writers' lock

_HELD_LOCK = threading.Lock()
_HOLDERS: dict[Path, tuple[int, object, int]] = {}  # path -> (thread id, file, depth)


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "另一个导入或构建正在进行"
    return (
        f"{info.get('command', '导入或构建')}正在进行（用户 {info.get('user', '?')}，"
        f"进程 {info.get('pid', '?')}，开始于 {info.get('since', '?')}）"
    )


@contextmanager
def writer_lock(db: str | Path, command: str, wait: float | None = None) -> Iterator[None]:
    """Hold the writers' lock of ``db`` (an ``flock``, with who and since when
    written inside). Re-entrant within a thread (a rollback's rebuild). A second
    writer waits up to ``wait`` seconds, then raises :class:`WriterBusy` naming
    the holder. Readers never touch it."""
    path = root(db) / "writer.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = path.resolve()
    me = threading.get_ident()
    with _HELD_LOCK:
        held = _HOLDERS.get(key)
        if held and held[0] == me:
            _HOLDERS[key] = (me, held[1], held[2] + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _HELD_LOCK:
                tid, f, depth = _HOLDERS[key]
                _HOLDERS[key] = (tid, f, depth - 1)
        return
    deadline = time.monotonic() + (WRITER_WAIT_SECONDS if wait is None else wait)
    f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held across the yield)
    try:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise WriterBusy(_holder_text(path) + "，请稍后再试") from None
                time.sleep(0.2)
        f.seek(0)
        f.truncate()
        f.write(
            json.dumps(
                {
                    "command": command,
                    "user": _user(),
                    "pid": os.getpid(),
                    "since": dt.datetime.now().isoformat(timespec="seconds"),
                },
                ensure_ascii=False,
            )
        )
        f.flush()
        with _HELD_LOCK:
            _HOLDERS[key] = (me, f, 1)
        try:
            yield
        finally:
            with _HELD_LOCK:
                _HOLDERS.pop(key, None)
            f.seek(0)
            f.truncate()
            f.flush()
    finally:
        f.close()  # closing releases the flock, also after SIGKILL (the kernel does)


def _user() -> str:
    try:
        return os.environ.get("KUOMIAN_USER") or getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


# ---------------------------------------------------------------- publishing


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_db(con: duckdb.DuckDBPyConnection, target: Path, tables: dict[str, str]) -> None:
    """Write ``tables`` (name -> SELECT on ``con``) into a new DuckDB file at
    ``target``: under a temporary name, fsynced, then renamed into place."""
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con.execute(f"ATTACH '{tmp}' AS _publish")
    try:
        for name, select in tables.items():
            con.execute(f"CREATE TABLE _publish.main.{name} AS {select}")
    finally:
        con.execute("DETACH _publish")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary AND table_name = ?",
            [table],
        ).fetchall()[0][0]
    )


def known_store_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The import store's id, if it has one (``meta``: the store's or a published catalog's)."""
    rows = con.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchall()
    return rows[0][0] if rows else None


def store_id(con: duckdb.DuckDBPyConnection) -> str:
    """The import store's identity (made on first use), which names its snapshot
    files: a database deleted and made again at the same path (make run does)
    numbers its versions from 1 again, and must never take the files of the one
    before for its own."""
    known = known_store_id(con)
    if known:
        return known
    made = uuid.uuid4().hex[:12]
    con.execute("INSERT INTO meta VALUES ('store_id', ?)", [made])
    return made


def snapshot_file(db: str | Path, sid: str, version: int, as_of: dt.date) -> Path:
    """The file of one registry version's marts."""
    return root(db) / "snapshots" / f"{as_of.isoformat()}.v{int(version)}.{sid}.duckdb"


def write_snapshot(
    con: duckdb.DuckDBPyConnection,
    db: str | Path,
    version: int,
    as_of: dt.date,
    tables: dict[str, str],
) -> Path:
    """Write one registry version's marts (``tables``: name -> SELECT on ``con``)
    into its snapshot file, the one copy of them there is. The build does, right
    after the version commits; a file of the same name (a version number a failed
    build had taken) is replaced."""
    target = snapshot_file(db, store_id(con), version, as_of)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_db(con, target, tables)
    return target


def attach_stored(con: duckdb.DuckDBPyConnection, db: str | Path, tables: tuple[str, ...]) -> None:
    """Make ``tables`` (e.g. ``reg_persons``) temp views on the import store ``con``
    of the snapshot files of every version in ``registry_versions``: what a build
    learns from and the quarter's assessment reuses. A version whose file is not
    there is left out (its date is built again). Called again, it adds the files
    written since."""
    sid = known_store_id(con) if _has(con, "meta") else None
    if sid is None or not _has(con, "registry_versions"):
        return  # nothing published yet, so no snapshot file either
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    parts: dict[str, list[str]] = {}
    for version, as_of in con.execute(
        "SELECT version, as_of FROM registry_versions ORDER BY version"
    ).fetchall():
        path = snapshot_file(db, sid, version, as_of)
        alias = f"stored_v{int(version)}"
        if alias not in attached:
            if not path.exists():
                continue
            con.execute(f"ATTACH '{path}' AS {alias} (READ_ONLY)").fetchall()
        have = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]
            ).fetchall()
        }
        for t in tables:
            if t in have:
                parts.setdefault(t, []).append(f"SELECT * FROM {alias}.main.{t}")
    for t, selects in parts.items():
        # Each result read to its end: DuckDB refuses other work on a connection
        # (register, say) while a result of execute() is unfinished.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {t} AS " + " UNION ALL BY NAME ".join(selects)
        ).fetchall()


@contextmanager
def stored(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The import store opened read-only, with every stored version's marts
    (``reg_persons`` …, a ``version`` column first) as views of their files: what
    the import store held before the snapshot files were the only copy. For
    maintenance and tests; pages and exports read published versions."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        attach_stored(con, db, SNAPSHOT_TABLES)
        yield con
    finally:
        con.close()


def publish(con: duckdb.DuckDBPyConnection, db: str | Path, by: str) -> int:
    """Publish what the import store on ``con`` holds now (committed) as a new
    version, and switch readers to it. The caller holds :func:`writer_lock`.
    Returns the new version's number."""
    base = root(db)
    for sub in ("snapshots", "catalog", "versions"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    _remove_stray(base)
    sid = store_id(con)
    previous = current_number(db)
    foreign = previous is not None and _store_of(db, previous) != sid
    number = (previous or 0) + 1
    while (base / "versions" / f"{number}.json").exists():
        number += 1
    versions: list[tuple[int, dt.date]] = (
        con.execute("SELECT version, as_of FROM registry_versions ORDER BY version").fetchall()
        if _has(con, "registry_versions")
        else []
    )
    snapshots: dict[str, str] = {}
    for version, as_of in versions:
        path = snapshot_file(db, sid, version, as_of)
        if not path.exists():
            # The build writes each version's file (write_snapshot); a version
            # without one had its build stopped between its commit and its file,
            # and is left out until its date is built again.
            continue
        snapshots[str(int(version))] = f"snapshots/{path.name}"
    catalog = f"catalog/{number}.duckdb"
    _write_db(
        con, base / catalog, {t: f"SELECT * FROM main.{t}" for t in CATALOG_TABLES if _has(con, t)}
    )
    current = con.execute("SELECT value FROM meta WHERE key = 'current_version'").fetchone()
    record = {
        "number": number,
        "store_id": sid,
        "registry_version": int(current[0]) if current else None,
        "catalog": catalog,
        "snapshots": snapshots,
        "published_at": dt.datetime.now().isoformat(timespec="seconds"),
        "by": {"command": by, "user": _user(), "pid": os.getpid()},
    }
    tmp = base / "versions" / f"{number}.json.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, base / "versions" / f"{number}.json")
    tmp = base / f"CURRENT.{os.getpid()}.tmp"
    tmp.write_text(f"{number}\n", encoding="ascii")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, base / "CURRENT")
    _fsync_dir(base)
    # The versions of another (deleted) import store go at once.
    _prune(base, number, keep=1 if foreign else KEEP)
    return number


def _store_of(db: str | Path, number: int) -> str | None:
    try:
        return manifest(db, number).get("store_id")
    except (OSError, ValueError):
        return None


def _remove_stray(base: Path) -> None:
    """Temporary files a killed writer left (only writers call this, under the lock)."""
    for tmp in base.glob("**/*.tmp"):
        tmp.unlink(missing_ok=True)


def _prune(base: Path, number: int, keep: int = KEEP) -> None:
    """Delete versions older than the ``keep`` newest, with the files only they
    name (a reader that has one open keeps its handle)."""
    numbers = sorted(int(p.stem) for p in (base / "versions").glob("*.json"))
    keep = [n for n in numbers if n <= number][-keep:]
    named: set[str] = set()
    for n in keep:
        rec = json.loads((base / "versions" / f"{n}.json").read_text(encoding="utf-8"))
        named.add(rec["catalog"])
        named.update(rec["snapshots"].values())
    for n in numbers:
        if n not in keep and n < number:
            (base / "versions" / f"{n}.json").unlink(missing_ok=True)
    for sub in ("snapshots", "catalog"):
        for f in (base / sub).glob("*.duckdb"):
            if f"{sub}/{f.name}" not in named:
                f.unlink(missing_ok=True)


# ---------------------------------------------------------------- reading

_PINNED: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar(
    "kuomian_pinned", default=None
)


@dataclass
class _Open:
    """One published version attached read-only to an in-memory database."""

    number: int
    con: duckdb.DuckDBPyConnection
    users: int = 0
    store_id: str | None = None  # the import store whose version it is


_OPEN: dict[tuple[Path, int], _Open] = {}
_OPEN_LOCK = threading.Lock()
_MAX_OPEN = 3


def _attach(db: str | Path, rec: dict) -> duckdb.DuckDBPyConnection:
    base = root(db)
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{base / rec['catalog']}' AS cat (READ_ONLY)")
    cat_tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'cat'"
        ).fetchall()
    }
    for t in sorted(cat_tables):
        con.execute(f"CREATE VIEW memory.main.{t} AS SELECT * FROM cat.main.{t}")
    parts: dict[str, list[str]] = {}
    for i, (_, name) in enumerate(sorted(rec["snapshots"].items(), key=lambda kv: int(kv[0]))):
        alias = f"s{i}"
        con.execute(f"ATTACH '{base / name}' AS {alias} (READ_ONLY)")
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]
        ).fetchall():
            parts.setdefault(t, []).append(f"SELECT * FROM {alias}.main.{t}")
    for t, selects in parts.items():
        con.execute(f"CREATE VIEW memory.main.{t} AS " + " UNION ALL BY NAME ".join(selects))
    return con


def _acquire(db: str | Path, number: int) -> _Open:
    key = (root(db).resolve(), number)
    try:
        rec: dict | None = manifest(db, number)
    except FileNotFoundError:
        rec = None  # pruned since a page pinned it: the copy attached here reads on
    with _OPEN_LOCK:
        got = _OPEN.get(key)
        if got is not None and rec is not None and rec.get("store_id") != got.store_id:
            # A database deleted and made again at the same path publishes its own
            # number 1 again, which is not the old one's.
            _OPEN.pop(key)
            if got.users == 0:
                got.con.close()
            got = None
        if got is None:
            if rec is None:
                raise FileNotFoundError(root(db) / "versions" / f"{number}.json")
            got = _Open(number, _attach(db, rec), store_id=rec.get("store_id"))
            _OPEN[key] = got
            mine = sorted((k for k in _OPEN if k[0] == key[0]), key=lambda k: k[1])
            for old in mine[:-_MAX_OPEN]:
                if _OPEN[old].users == 0:
                    _OPEN.pop(old).con.close()
        got.users += 1
        return got


def _release(got: _Open) -> None:
    with _OPEN_LOCK:
        got.users -= 1


@contextmanager
def pinned(db: str | Path) -> Iterator[int | None]:
    """Read one published version for the whole block (a page run): every
    :func:`reader` inside it reads the version that was in use when it began."""
    number = current_number(db)
    pins = dict(_PINNED.get() or {})
    pins[str(root(db).resolve())] = number
    token = _PINNED.set(pins)
    try:
        yield number
    finally:
        _PINNED.reset(token)


def pin(db: str | Path) -> int | None:
    """Pin the version in use for the rest of this thread's run (a Streamlit page
    run begins with it: each run pins afresh, so a run never mixes versions)."""
    number = current_number(db)
    pins = dict(_PINNED.get() or {})
    pins[str(root(db).resolve())] = number
    _PINNED.set(pins)
    return number


def in_use(db: str | Path) -> int | None:
    """The published version this run reads (pinned, else the one in use): a
    cache key that changes with every import, rollback and build."""
    pins = _PINNED.get() or {}
    return pins.get(str(root(db).resolve())) or current_number(db)


@contextmanager
def reader(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only cursor on the published version in use (or the one pinned by
    :func:`pinned`); None when nothing has been published yet."""
    pins = _PINNED.get() or {}
    number = pins.get(str(root(db).resolve())) or current_number(db)
    if number is None or not Path(db).exists():
        # Nothing published, or the import store it belongs to is gone.
        yield None
        return
    try:
        got = _acquire(db, number)
    except (FileNotFoundError, duckdb.IOException):
        # Pruned since it was pinned (a page that began two builds ago): the newest.
        newest = current_number(db)
        if newest is None or newest == number:
            raise
        got = _acquire(db, newest)
    cur = got.con.cursor()
    try:
        yield cur
    finally:
        cur.close()
        _release(got)


def close_all() -> None:
    """Close every attached version (tests, and before deleting a database)."""
    with _OPEN_LOCK:
        for got in _OPEN.values():
            got.con.close()
        _OPEN.clear()
