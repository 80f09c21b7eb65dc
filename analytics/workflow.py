"""The import-and-build workflow the app's upload runs: import batch folders or
zips (all or nothing), then build the registry of the newest date."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analytics import store
from analytics.ingest import import_batches, report_frame
from analytics.registry.build import build_registry


def import_and_build(
    paths: list[Path], db: str | Path, progress: Callable[[str, float], None] | None = None
) -> tuple[pd.DataFrame, dict, list[str]]:
    """Returns the import report, the build summary and the notices. Raises
    :class:`analytics.ingest.ImportRejected` for a batch that cannot be read."""
    with store.writing():
        results = import_batches(paths, db=db, progress=progress)
        info = build_registry(db)
    notices = [f"{r.batch}: {n}" for r in results for n in r.notices]
    return report_frame(results), info, notices
