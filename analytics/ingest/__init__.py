"""``kuomian import``: department files in, accepted rows, problem data and an
accounting out (shared/data-contract.md). One module per job:

- :mod:`.batches` — which folders and files a command names (zips, regular files only)
- :mod:`.kinds` — the kind of a table and where its header sits
- :mod:`.loading` — reading files into DuckDB (:mod:`.xlsxguard` bounds worksheets first)
- :mod:`.checks` — cleaning and the value checks, in SQL
- :mod:`.settle` — duplicates, conflicts, warnings and the accounting
- :mod:`.writing` — replacing a date's kinds in the database
- :mod:`.importer` — a batch at a time, all in one transaction
- :mod:`.report` — the import report
"""

from analytics.ingest.batches import as_of_from_name, expand_batches
from analytics.ingest.checks import Context, check_value
from analytics.ingest.importer import import_batches, read_batch, read_boundaries
from analytics.ingest.kinds import HEADER_SEARCH_ROWS, kinds_in_name, locate
from analytics.ingest.records import REASONS, BatchResult, FileReport, ImportRejected, Issue
from analytics.ingest.report import REPORT_COLUMNS, report_frame

__all__ = [
    "HEADER_SEARCH_ROWS",
    "REASONS",
    "REPORT_COLUMNS",
    "BatchResult",
    "Context",
    "FileReport",
    "ImportRejected",
    "Issue",
    "as_of_from_name",
    "check_value",
    "expand_batches",
    "import_batches",
    "kinds_in_name",
    "locate",
    "read_batch",
    "read_boundaries",
    "report_frame",
]
