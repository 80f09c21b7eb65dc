"""The import report: one line per file, as ``kuomian import`` prints it."""

from __future__ import annotations

import pandas as pd

from analytics.ingest.records import BatchResult

REPORT_COLUMNS = [
    "batch",
    "as_of",
    "source_file",
    "kind",
    "read",
    "accepted",
    "duplicates",
    "problems",
    "warnings",
]


def report_frame(results: list[BatchResult]) -> pd.DataFrame:
    """The accounting of every file of the results, in import order."""
    rows = [[getattr(f, c) for c in REPORT_COLUMNS] for r in results for f in r.files]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)
