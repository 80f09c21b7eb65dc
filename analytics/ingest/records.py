"""The records an import produces: the per-file accounting, problem and warning
rows, a batch's result, and the one error a user sees (:class:`ImportRejected`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# The order in which a row's problems are tried; a problem row keeps the first.
# malformed_row (a CSV record that is not well formed, e.g. a quote that never
# closes) comes first: none of its cells can be trusted.
REASONS = (
    "malformed_row",
    "missing_value",
    "invalid_id",
    "invalid_uscc",
    "invalid_date",
    "invalid_value",
    "invalid_address_code",
    "out_of_region",
    "conflict",
)
REASON_RANK = {r: i for i, r in enumerate(REASONS)}
NO_PROBLEM = len(REASONS)  # the rank of a value that is fine

# Warning reason for an optional value of each type that cannot be read.
WARN_REASON = {
    "date": "invalid_date",
    "uscc": "invalid_uscc",
    "id": "invalid_id",
    "address_code": "invalid_address_code",
    "region_code": "invalid_address_code",
    "division_code": "invalid_address_code",
}


class ImportRejected(Exception):
    """A batch that cannot be imported; nothing of it was written."""

    def __init__(
        self, message: str, file: str = "", field: str = "", batch: str = "", row: int = 0
    ) -> None:
        super().__init__(message)
        self.file = file
        self.field = field
        self.batch = batch
        self.row = row


def where(batch: str, file: str, field: str = "", row: int = 0) -> str:
    """How a rejection names its place: the batch and file, then the row and field
    when there are (never a cell's content: rejections carry no personal data).

    >>> where("2025-06-30", "低保.csv", "id_number", 1)
    '批次 2025-06-30 文件 低保.csv 第 1 行 列 id_number (batch 2025-06-30, file 低保.csv, row 1, field id_number)'
    """
    zh = [f"批次 {batch}", f"文件 {file}"]
    en = [f"batch {batch}", f"file {file}"]
    if row:
        zh.append(f"第 {row} 行")
        en.append(f"row {row}")
    if field:
        zh.append(f"列 {field}")
        en.append(f"field {field}")
    return f"{' '.join(zh)} ({', '.join(en)})"


@dataclass
class FileReport:
    """The accounting of one file (or sheet): ``read = accepted + duplicates + problems``."""

    batch: str
    as_of: dt.date
    source_file: str
    kind: str
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    problems: int = 0
    warnings: int = 0
    encoding: str = ""
    sheet: str = ""
    header_row: int = 0


@dataclass
class Issue:
    """A problem (severity error) or a warning about one row."""

    source_file: str
    row_number: int
    kind: str
    reason: str
    id_number: str
    raw: str
    severity: str
    field: str
    message: str


@dataclass
class BatchResult:
    """What one batch folder gave: its files' accounting and the notices for the user.

    Accepted rows and problem rows stay in the database connection's temporary
    tables until :func:`analytics.ingest.writing.write_batch` moves them."""

    batch: str
    as_of: dt.date
    region_code: str
    source_path: str
    files: list[FileReport] = field(default_factory=list)
    boundaries: list[dict[str, object]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    kinds_accepted: list[str] = field(default_factory=list)
