"""Which kind a table is and where its header sits: from the file or sheet name,
else from the headers, found in the first rows below any title rows."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.ingest.records import ImportRejected
from analytics.sources import Field, Kind, Sources
from analytics.textnorm import clean, header_key

HEADER_SEARCH_ROWS = 10  # one to five title rows, with blank rows between, fit easily

Rows = list[tuple[int, list[str]]]  # (row number as Excel shows it, cells as written)


@dataclass
class Located:
    """A table whose kind and header are known."""

    kind: Kind
    header_index: int  # position of the header among the table's rows (0-based)
    columns: dict[str, int]  # field name -> column index
    headers: list[str]


def kinds_in_name(name: str, sources: Sources) -> list[Kind]:
    """Kinds named (in English or Chinese) in a file or sheet name, longest names first."""
    lowered = name.lower()
    hits: list[tuple[int, Kind]] = []
    for kind in sources.kinds.values():
        length = max((len(n) for n in (kind.name, kind.label) if n.lower() in lowered), default=0)
        if length:
            hits.append((length, kind))
    if not hits:
        return []
    best = max(length for length, _ in hits)
    return [k for length, k in hits if length == best]


def map_headers(cells: list[str], kind: Kind) -> dict[str, int]:
    """Field name -> column index for the header cells that name a field of ``kind``."""
    lookup = kind.header_lookup()
    columns: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = lookup.get(header_key(cell))
        if name and name not in columns:
            columns[name] = i
    return columns


def _missing(kind: Kind, columns: dict[str, int]) -> list[Field]:
    return [f for f in kind.required if f.name not in columns]


def _header_candidates(head: Rows) -> list[int]:
    return [
        i for i, (_, cells) in enumerate(head[:HEADER_SEARCH_ROWS]) if any(clean(c) for c in cells)
    ]


def _reject_missing(source_file: str, kind: Kind, head: Rows) -> ImportRejected:
    best_i, best_cols = 0, {}
    for i in _header_candidates(head):
        cols = map_headers(head[i][1], kind)
        if len(cols) > len(best_cols):
            best_i, best_cols = i, cols
    f = _missing(kind, best_cols)[0]
    accepted = "、".join(dict.fromkeys((f.name, *f.headers)))
    found = [clean(c) for c in head[best_i][1] if clean(c)] if head else []
    return ImportRejected(
        f"{source_file}: 缺少必填列 {f.name} ({kind.label}/{kind.name}); 可用的列名 "
        f"(accepted headers): {accepted}; 文件中的列 (headers found): {'、'.join(found) or '无'}",
        file=source_file,
        field=f.name,
    )


def locate(source_file: str, head: Rows, sources: Sources, named: list[Kind]) -> Located:
    """Find the kind and header row of a table from its first rows, or reject the file."""
    candidates = named or list(sources.kinds.values())
    best: list[tuple[int, int, Kind, dict[str, int]]] = []
    for i in _header_candidates(head):
        cells = head[i][1]
        for kind in candidates:
            cols = map_headers(cells, kind)
            if cols and not _missing(kind, cols):
                best.append((len(cols), -i, kind, cols))
        if best:
            break  # the header is the first row that carries a kind's required columns
    if not best:
        if len(named) == 1:
            raise _reject_missing(source_file, named[0], head)
        names = "、".join(f"{k.label}({k.name})" for k in candidates[:30])
        raise ImportRejected(
            f"{source_file}: 无法判断文件类型 (cannot tell the kind of file): 文件名和表头都不匹配; "
            f"可能的类型 (could be): {names}",
            file=source_file,
        )
    top = max(b[0] for b in best)
    winners = [b for b in best if b[0] == top]
    if len(winners) > 1:
        names = "、".join(f"{b[2].label}({b[2].name})" for b in winners)
        raise ImportRejected(
            f"{source_file}: 无法判断文件类型 (cannot tell the kind of file): 表头同时符合 "
            f"(headers fit) {names}; 请在文件名中写明类型 (name the kind in the file name)",
            file=source_file,
        )
    _, neg_i, kind, cols = winners[0]
    return Located(kind, -neg_i, cols, list(head[-neg_i][1]))
