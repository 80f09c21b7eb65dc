"""Batches: which folders an import argument names (folders, zips, a folder of
batch folders), the as-of date of each, and which of a batch's files are read.

Only regular files inside the batch are read: a symlink, device or named pipe
could point outside the batch, never end, or never stop giving bytes
(issue "Keep serving"), so a batch holding one is rejected before anything is read.
"""

from __future__ import annotations

import datetime as dt
import re
import stat
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from analytics.ingest.records import ImportRejected
from analytics.readers import TABULAR
from analytics.textnorm import clean, parse_date

# A zip may expand to at most this many bytes (the sizes its directory declares;
# Python's zipfile never writes more than a member declares).
MAX_UNZIPPED_BYTES = 8 * 1024**3
GEO_SUFFIXES = (".geojson", ".json")

_DATE_IN_NAME = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "ymd"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), "ymd"),
    (re.compile(r"(\d{4})[Qq]([1-4])"), "quarter"),
)
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def as_of_from_name(name: str) -> dt.date | None:
    """The as-of date a folder name carries: 2025-06-30, 20250630 or 2025Q2.

    >>> as_of_from_name("2025Q2"), as_of_from_name("batch_20250630")
    (datetime.date(2025, 6, 30), datetime.date(2025, 6, 30))
    """
    for pattern, how in _DATE_IN_NAME:
        m = pattern.search(name)
        if not m:
            continue
        try:
            if how == "quarter":
                month, day = _QUARTER_END[int(m[2])]
                return dt.date(int(m[1]), month, day)
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
    return None


def manifest(folder: Path) -> dict[str, Any]:
    """The batch's ``manifest.toml``, or {} when it has none."""
    path = folder / "manifest.toml"
    if not path.exists():
        return {}
    _require_regular(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportRejected(
            f"{path.name}: 无法解析 (cannot parse manifest): {exc}", file=path.name
        ) from exc


def batch_date(folder: Path, manifest: dict[str, Any]) -> dt.date:
    """The as-of date from the manifest, else from the folder's name."""
    value = manifest.get("as_of")
    if value is not None:
        if isinstance(value, dt.date):
            return value
        parsed = parse_date(clean(str(value))) or as_of_from_name(str(value))
        if parsed is None:
            raise ImportRejected(
                f"manifest.toml: as_of 不是日期 (not a date): {value!r}",
                file="manifest.toml",
                field="as_of",
            )
        return parsed
    parsed = as_of_from_name(folder.name)
    if parsed is None:
        raise ImportRejected(
            f"{folder.name}: 无法确定数据截止日期 (cannot tell the as-of date): add manifest.toml "
            'with as_of = "YYYY-MM-DD" or name the folder 2025-06-30, 20250630 or 2025Q2',
            file=folder.name,
            field="as_of",
        )
    return parsed


def _require_regular(path: Path) -> None:
    mode = path.lstat().st_mode
    if not stat.S_ISREG(mode):
        what = "符号链接 (symlink)" if stat.S_ISLNK(mode) else "特殊文件 (device or pipe)"
        raise ImportRejected(
            f"{path.name}: 不是普通文件，未导入 (not a regular file: {what})", file=path.name
        )


def batch_files(folder: Path) -> tuple[list[Path], list[Path], list[str]]:
    """(tabular files, boundary files, names ignored) of a batch, in name order."""
    tabular, geo, ignored = [], [], []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith((".", "~$")) or p.name == "manifest.toml":
            continue
        if p.is_dir():
            continue
        suffix = p.suffix.lower()
        if suffix in TABULAR or suffix in GEO_SUFFIXES:
            _require_regular(p)
            (tabular if suffix in TABULAR else geo).append(p)
        else:
            ignored.append(p.name)
    return tabular, geo, ignored


def _unzip(path: Path, target: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            declared = sum(i.file_size for i in z.infolist())
            if declared > max_bytes:
                raise ImportRejected(
                    f"{path.name}: 解压后过大 (expands to {declared} bytes, more than the "
                    f"{max_bytes} allowed)",
                    file=path.name,
                )
            z.extractall(target)
    except zipfile.BadZipFile as exc:
        raise ImportRejected(
            f"{path.name}: 不是有效的 zip 文件 (bad zip): {exc}", file=path.name
        ) from exc


def expand_batches(
    paths: Iterable[Path], workdir: Path, max_unzipped: int = MAX_UNZIPPED_BYTES
) -> list[Path]:
    """Batch folders from the arguments: folders, zip files, or a folder of batch folders."""
    out: list[Path] = []
    for p in paths:
        if p.is_file() and p.suffix.lower() == ".zip":
            target = workdir / p.stem
            _unzip(p, target, max_unzipped)
            inner = [d for d in target.iterdir() if not d.name.startswith((".", "__"))]
            if len(inner) == 1 and inner[0].is_dir():
                target = inner[0]
            out.extend(
                expand_batches([target], workdir, max_unzipped)
                if not _has_data(target)
                else [target]
            )
        elif p.is_dir() and not _has_data(p):
            subs = sorted(
                (d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".")),
                key=lambda d: d.name,
            )
            out.extend(subs if subs else [p])
        else:
            out.append(p)
    return out


def _has_data(folder: Path) -> bool:
    return any(
        f.is_file() and (f.suffix.lower() in TABULAR | {".geojson"} or f.name == "manifest.toml")
        for f in folder.iterdir()
    )
