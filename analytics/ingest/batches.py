"""Batches: which folders an import argument names (folders, zips, a folder of
batch folders), the as-of date of each, and which of a batch's files are read.

Only regular files inside the batch are read: a symlink, device or named pipe
could point outside the batch, never end, or never stop giving bytes
(issue "Keep serving"), so a batch holding one is rejected before anything is read.
So is a zip inside a batch: it is not expanded (a zip of zips could expand
without end), and ignoring it would drop the files the department meant to send.
A batch dated after today is refused too: it would become "the newest" date.
A zip that holds no file (empty, or folders only) is an empty batch, refused;
so is one whose members' names in their own headers are not what its directory
says (a damaged archive).
"""

from __future__ import annotations

import datetime as dt
import re
import stat
import tomllib
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from analytics.ingest.records import ImportRejected, where
from analytics.readers import TABULAR
from analytics.textnorm import clean, parse_date

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


def batch_date(folder: Path, manifest: dict[str, Any], today: dt.date | None = None) -> dt.date:
    """The as-of date from the manifest, else from the folder's name; never after
    ``today`` (by default the machine's date)."""
    as_of = _stated_date(folder, manifest)
    today = today or dt.date.today()
    if as_of > today:
        where = (
            "manifest.toml 的 as_of" if manifest.get("as_of") is not None else "批次名称中的日期"
        )
        raise ImportRejected(
            f"{folder.name}: {where} {as_of.isoformat()} 晚于今天 {today.isoformat()} "
            f"(the as-of date {as_of.isoformat()} is after today, {today.isoformat()})",
            file="manifest.toml" if manifest.get("as_of") is not None else folder.name,
            field="as_of",
        )
    return as_of


def _stated_date(folder: Path, manifest: dict[str, Any]) -> dt.date:
    value = manifest.get("as_of")
    if value is not None:
        # TOML's datetimes are dates too in Python; an as-of date has no time of day.
        if isinstance(value, dt.datetime):
            raise ImportRejected(
                f"{folder.name}: manifest.toml 的 as_of 应为日期，不带时间 (as_of must be a date, "
                f'not a date and time): {value.isoformat()}; write as_of = "{value.date()}"',
                file="manifest.toml",
                field="as_of",
            )
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


def _inner_zip(folder: Path, path: Path) -> ImportRejected:
    return ImportRejected(
        f"{folder.name}: {path.name}: 压缩包内或文件夹内的压缩包不会被解压，未导入 (a zip "
        "inside a batch is not expanded: unpack it, or give it as a batch of its own)",
        file=path.name,
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
        if suffix == ".zip":
            raise _inner_zip(folder, p)
        if suffix in TABULAR or suffix in GEO_SUFFIXES:
            _require_regular(p)
            (tabular if suffix in TABULAR else geo).append(p)
        else:
            ignored.append(p.name)
    return tabular, geo, ignored


_UTF8_FLAG = 0x800  # general purpose bit 11: the name is UTF-8
_UNICODE_PATH = 0x7075  # Info-ZIP Unicode Path extra field: a UTF-8 name beside the native one


def _unicode_path(extra: bytes, raw: bytes) -> str | None:
    """The UTF-8 name of an Info-ZIP Unicode Path field, if it was made for ``raw``."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = (
            int.from_bytes(extra[i : i + 2], "little"),
            int.from_bytes(extra[i + 2 : i + 4], "little"),
        )
        data = extra[i + 4 : i + 4 + size]
        # The field is stale (the name was changed since) unless the CRCs agree.
        if (
            tag == _UNICODE_PATH
            and len(data) > 5
            and data[0] == 1
            and int.from_bytes(data[1:5], "little") == zlib.crc32(raw)
        ):
            try:
                return data[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
        i += 4 + size
    return None


def member_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name as its maker wrote it, with ``/`` between folders.

    With bit 11 set the name is UTF-8 (zipfile decoded it so). Without it the
    bytes are the maker's code page, which zipfile reads as cp437: Chinese
    Windows writes GBK, macOS and Linux tools write UTF-8 without the flag. The
    bytes are recovered from cp437 and read as UTF-8 if they are valid UTF-8
    (GBK names almost never are), else as GBK, else left as zipfile read them.

    >>> info = zipfile.ZipInfo("户籍人口.csv".encode("gbk").decode("cp437"))
    >>> info.filename, member_name(info)
    ('╗º╝«╚╦┐┌.csv', '户籍人口.csv')
    """
    name = info.filename
    if not info.flag_bits & _UTF8_FLAG:
        raw = name.encode("cp437")
        name = _unicode_path(info.extra, raw) or name
        if name == info.filename and not raw.isascii():
            for encoding in ("utf-8", "gbk"):
                try:
                    name = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
    # Some Windows tools separate folders with a backslash, which no name may hold.
    return name.replace("\\", "/")


def _unzip(path: Path, target: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
            for info in members:
                info.filename = member_name(info)
            declared = sum(i.file_size for i in members)
            if declared > max_bytes:
                raise ImportRejected(
                    f"{path.name}: 解压后过大 (expands to {declared} bytes, more than the "
                    f"{max_bytes} allowed)",
                    file=path.name,
                )
            for info in members:
                try:
                    z.extract(info, target)
                except UnicodeDecodeError as exc:
                    # Flagged as UTF-8 in the directory, not UTF-8 in the member's own
                    # header: zipfile compares the two names, and the archive is damaged.
                    raise ImportRejected(
                        f"{where(path.stem, path.name)}: 不是有效的 zip 文件 (bad zip): "
                        f"成员 {info.filename} 的本地文件头中的文件名不是有效的 UTF-8 "
                        f"(the name in the local header of member {info.filename} is not "
                        "valid UTF-8)",
                        file=path.name,
                        batch=path.stem,
                    ) from exc
    except zipfile.BadZipFile as exc:
        raise ImportRejected(
            f"{path.name}: 不是有效的 zip 文件 (bad zip): {exc}", file=path.name
        ) from exc


def expand_batches(paths: Iterable[Path], workdir: Path, max_unzipped: int) -> list[Path]:
    """Batch folders from the arguments: folders, zip files, or a folder of batch
    folders; a zip may expand to at most ``max_unzipped`` bytes (the sizes its
    directory declares; Python's zipfile never writes more than a member declares)."""
    out: list[Path] = []
    for p in paths:
        if p.is_file() and p.suffix.lower() == ".zip":
            target = workdir / p.stem
            _unzip(p, target, max_unzipped)
            if not _holds_files(target):
                raise ImportRejected(
                    f"{where(p.stem, p.name)}: 压缩包中没有文件，是空批次，未导入 (the zip holds "
                    "no files, only folders if any: an empty batch)",
                    file=p.name,
                    batch=p.stem,
                )
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
            inner_zip = next((f for f in sorted(p.iterdir()) if f.suffix.lower() == ".zip"), None)
            if subs and inner_zip is not None:
                raise _inner_zip(p, inner_zip)
            out.extend(subs if subs else [p])
        else:
            out.append(p)
    return out


def _holds_files(target: Path) -> bool:
    """Whether an unzipped tree holds a file that is not hidden or macOS litter (zipfile
    makes ``target`` only to put a member in it: an empty zip leaves none)."""
    if not target.is_dir():
        return False
    return any(
        f.is_file()
        and not any(part.startswith((".", "__")) for part in f.relative_to(target).parts)
        for f in target.rglob("*")
    )


def _has_data(folder: Path) -> bool:
    return any(
        f.is_file() and (f.suffix.lower() in TABULAR | {".geojson"} or f.name == "manifest.toml")
        for f in folder.iterdir()
    )
