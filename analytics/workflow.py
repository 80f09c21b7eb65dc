"""The import-and-build workflow the app's upload runs: import batch folders or
zips (all or nothing), then build the registry of the newest date.

Both run in a child process (the command line), never inside the Streamlit
server's: a file that makes a reader allocate without bound or crash takes the
child down, not the app every user is on. The server holds its process lock
meanwhile, so none of its own read connections meets the child's writer.

Uploads hold personal data, and so do the files the child unpacks and
re-encodes: every temporary folder of an upload is removed when the upload
ends, however it ends (success, rejection, a child killed by the kernel, or the
page's run stopped midway). The child makes its folders inside one of ours,
since a killed child removes nothing itself.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from analytics import store
from analytics.ingest import REPORT_COLUMNS, ImportRejected
from analytics.registry.build import BuildError
from analytics.registry.versions import version_for

# A line of the child's stderr that reports progress: "progress<TAB>fraction<TAB>message".
PROGRESS = "progress"
# The import's share of the upload's progress bar, the build having the rest: the
# measured typical cost (bench/README.md, 100k persons: import 20.3 s, first
# build 34.5 s; the recurring quarter's build is the larger part still).
IMPORT_SHARE = 1 / 3
COUNTS = ["read", "accepted", "duplicates", "problems", "warnings"]


def remove_tree(path: Path) -> None:
    """Remove a temporary folder and everything in it, read-only folders too."""
    if not os.path.lexists(path):
        return
    try:
        shutil.rmtree(path)
    except OSError:
        # A read-only folder refuses to lose its files: open every folder (never
        # through a symlink, which may point outside), then try once more.
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IRWXU)
        for root, dirs, _ in os.walk(path):
            for p in (os.path.join(root, d) for d in dirs):
                if not os.path.islink(p):
                    with contextlib.suppress(OSError):
                        os.chmod(p, stat.S_IRWXU)
        shutil.rmtree(path)


@contextlib.contextmanager
def _temporary_folder(prefix: str) -> Iterator[Path]:
    """A private temporary folder (mode 0700), removed on leaving whatever happened."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        remove_tree(path)


def share(
    progress: Callable[[str, float], None] | None, start: float, end: float
) -> Callable[[str, float], None] | None:
    """``progress`` with a child's fraction 0..1 mapped onto ``start``..``end``."""
    if progress is None:
        return None

    def report(message: str, fraction: float) -> None:
        progress(message, start + (end - start) * min(max(fraction, 0.0), 1.0))

    return report


def _run(
    args: list[str], progress: Callable[[str, float], None] | None, tmp: Path | None = None
) -> tuple[int, str, list[str]]:
    """Run ``kuomian ARGS`` in a child process: exit status, stdout, other stderr lines.

    The child's temporary files go under ``tmp``. The child never outlives the
    call: when reading its output fails or ``progress`` raises (Streamlit stops a
    page's run that way), it is killed before the exception goes on."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if tmp is not None:
        env.update(TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "analytics.cli", *args],
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
        )
        lines = []
        try:
            for line in child.stderr:
                head, _, rest = line.rstrip("\n").partition("\t")
                if head == PROGRESS and progress:
                    fraction, _, message = rest.partition("\t")
                    progress(message, float(fraction))
                elif head != PROGRESS:
                    lines.append(line.rstrip("\n"))
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            child.stderr.close()
        status = child.wait()
        out.seek(0)
        return status, out.read(), lines


def _reason(lines: list[str], command: str) -> str:
    """The child's one-line reason, without the ``kuomian COMMAND:`` prefix."""
    last = next((x for x in reversed(lines) if x.startswith(f"kuomian {command}:")), None)
    if last is None:
        return "子进程意外退出 (the import process ended unexpectedly)"
    return last.split(":", 1)[1].strip()


def quarter_end_before(today: dt.date) -> dt.date:
    """The last day of the quarter before the one ``today`` lies in.

    >>> quarter_end_before(dt.date(2026, 5, 12))
    datetime.date(2026, 3, 31)
    """
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return first - dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` months, a day past the month's end falling to its last.

    >>> add_months(dt.date(2025, 3, 31), 3)
    datetime.date(2025, 6, 30)
    """
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def default_as_of(newest: dt.date | None, today: dt.date) -> dt.date:
    """The as-of date offered for loose files: the newest imported date (a file
    sent late belongs to the batch it completes, never silently to a future
    one), else the end of the last full quarter."""
    return newest if newest is not None else quarter_end_before(today)


def check_as_of(
    chosen: dt.date, newest: dt.date | None, today: dt.date
) -> tuple[str | None, str | None]:
    """(a refusal, a warning) for the as-of date chosen for loose files: a date
    after today is refused (the importer would refuse it too); one more than a
    quarter after the newest imported date is worth a second look."""
    if chosen > today:
        refusal = (
            f"数据日期 {chosen:%Y-%m-%d} 晚于今天 {today:%Y-%m-%d}，不能导入。"
            "请选择数据实际截至的日期。"
        )
        return refusal, None
    if newest is not None and chosen > add_months(newest, 3):
        return None, (
            f"数据日期 {chosen:%Y-%m-%d} 比最近一次导入的数据日期 {newest:%Y-%m-%d} "
            "晚一个季度以上，将成为一个新的批次。请确认不是误选。"
        )
    return None, None


def upload_name(name: str) -> str:
    """A file name from an upload, safe to create: no folders, no control or
    reserved characters, no leading dot, at most 120 characters (the extension kept)."""
    base = Path(str(name).replace("\\", "/")).name
    base = "".join("_" if ord(ch) < 32 or ch in '<>:"|?*' else ch for ch in base)
    base = base.lstrip(". ") or "upload"
    stem, dot, ext = base.rpartition(".")
    if dot and len(ext) <= 10:
        return stem[: 120 - len(ext) - 1] + "." + ext
    return base[:120]


@contextlib.contextmanager
def staged_uploads(files: list[tuple[str, bytes]], as_of: dt.date) -> Iterator[list[Path]]:
    """:func:`stage_uploads` in a private temporary folder that is removed when the
    ``with`` block ends, whatever happened in it."""
    with _temporary_folder("kuomian-upload-") as work:
        yield stage_uploads(files, as_of, work)


def stage_uploads(files: list[tuple[str, bytes]], as_of: dt.date, work: Path) -> list[Path]:
    """Lay uploaded files out as batches under ``work``: each zip is a batch of its
    own, the loose files one batch of ``as_of``."""
    loose = work / as_of.isoformat()
    paths: list[Path] = []
    for name, data in files:
        safe = upload_name(name)
        if safe.lower().endswith(".zip"):
            target = work / safe
            paths.append(target)
        else:
            loose.mkdir(exist_ok=True)
            target = loose / safe
        target.write_bytes(data)
    if loose.exists():
        paths.insert(0, loose)
    return paths


def import_and_build(
    paths: list[Path],
    db: str | Path,
    progress: Callable[[str, float], None] | None = None,
    user: str | None = None,
    role: str | None = None,
) -> tuple[pd.DataFrame, dict, list[str]]:
    """Returns the import report, the build summary and the notices. Raises
    :class:`analytics.ingest.ImportRejected` for a batch that cannot be read and
    :class:`analytics.registry.build.BuildError` for a build that failed. The
    import and the build are audited for ``user`` (the app's account).
    ``progress(message, fraction)`` follows each file read, then each step of
    each date built (:data:`IMPORT_SHARE` of the bar for the import)."""
    db = str(db)
    who = (["--audit-user", user] if user else []) + (["--audit-role", role] if role else [])
    with store.writing(), _temporary_folder("kuomian-child-") as tmp:
        status, report, lines = _run(
            ["import", *map(str, paths), "--db", db, "--progress", *who],
            share(progress, 0.0, IMPORT_SHARE),
            tmp,
        )
        if status != 0:
            raise ImportRejected(_reason(lines, "import"))
        t0 = time.perf_counter()
        build = ["build", "--db", db, *(["--progress"] if progress else []), *who]
        status, _, build_lines = _run(build, share(progress, IMPORT_SHARE, 1.0), tmp)
        if status != 0:
            raise BuildError(_reason(build_lines, "build"))
        seconds = round(time.perf_counter() - t0, 2)
        with store.reading(db) as con:
            version, as_of = version_for(con)
    frame = pd.read_csv(io.StringIO(report), dtype={c: "int64" for c in COUNTS})
    frame = frame.astype({c: str for c in REPORT_COLUMNS if c not in COUNTS})
    frame["as_of"] = frame["as_of"].map(dt.date.fromisoformat)
    notices = [x for x in lines if not x.startswith("imported ")]
    return frame[REPORT_COLUMNS], {"as_of": as_of, "version": version, "seconds": seconds}, notices
