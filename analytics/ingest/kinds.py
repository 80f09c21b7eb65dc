"""Which kind a table is and where its header sits: from the file or sheet name,
else from the headers, found in the first rows below any title rows."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.ingest.records import ImportRejected, where
from analytics.sources import Field, Kind, Sources
from analytics.textnorm import clean, header_key

HEADER_SEARCH_ROWS = 10  # one to five title rows, with blank rows between, fit easily

Rows = list[tuple[int, list[str]]]  # (row number as Excel shows it, cells as written)
_SEVERAL = "文件名/工作表名指向多个类型 (the file or sheet name names several kinds)"


@dataclass
class Located:
    """A table whose kind and header are known."""

    kind: Kind
    header_index: int  # position of the header among the table's rows (0-based)
    columns: dict[str, int]  # field name -> column index
    headers: list[str]


def kinds_in_name(name: str, sources: Sources) -> list[Kind]:
    """Kinds named (in English or Chinese) in a file or sheet name, longest names first.

    Every kind named counts, not only the longest (低保人员_已剔除死亡人员 names 低保
    and 死亡人员: the headers decide, see :func:`locate`); a name found only inside a
    longer kind name (a kind 低保边缘户 beside 低保) is that longer kind's."""
    lowered = name.lower()
    spans: list[tuple[int, int, Kind]] = []
    for kind in sources.kinds.values():
        for n in {kind.name.lower(), kind.label.lower()} - {""}:
            start = lowered.find(n)
            while start >= 0:
                spans.append((start, start + len(n), kind))
                start = lowered.find(n, start + 1)
    found: dict[str, tuple[int, Kind]] = {}
    for s, e, kind in spans:
        if any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2, _ in spans):
            continue  # part of a longer kind name
        if e - s > found.get(kind.name, (0, kind))[0]:
            found[kind.name] = (e - s, kind)
    return [k for _, k in sorted(found.values(), key=lambda hit: -hit[0])]


def map_headers(cells: list[str], kind: Kind) -> dict[str, int]:
    """Field name -> column index for the header cells that name a field of ``kind``
    (the first such column; :func:`_reject_repeated` refuses a second)."""
    columns: dict[str, int] = {}
    for name, found in _field_columns(cells, kind).items():
        columns[name] = found[0]
    return columns


def _field_columns(cells: list[str], kind: Kind) -> dict[str, list[int]]:
    """Field name -> every column index whose header names that field of ``kind``."""
    lookup = kind.header_lookup()
    columns: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        name = lookup.get(header_key(cell))
        if name:
            columns.setdefault(name, []).append(i)
    return columns


def _kind_names(kinds: list[Kind]) -> str:
    return "、".join(f"{k.label}({k.name})" for k in kinds)


def _reject_repeated(
    batch: str, source_file: str, kind: Kind, row: tuple[int, list[str]]
) -> ImportRejected | None:
    """A field of ``kind`` in two columns of the header row: which one the file means
    cannot be told, so the file is refused rather than one column silently dropped."""
    number, cells = row
    for name, found in _field_columns(cells, kind).items():
        if len(found) > 1:
            headers = "、".join(
                f"{clean(cells[i])} (第 {i + 1} 列 / column {i + 1})" for i in found
            )
            return ImportRejected(
                f"{where(batch, source_file, name, number)}: 列重复 (a field in two columns): "
                f"{headers} 都是 {name} ({kind.label}/{kind.name}) (all name {name}); "
                "请只保留一列 (keep one of them)",
                file=source_file,
                field=name,
                batch=batch,
                row=number,
            )
    return None


def _missing(kind: Kind, columns: dict[str, int]) -> list[Field]:
    return [f for f in kind.required if f.name not in columns]


def _header_candidates(head: Rows) -> list[int]:
    return [
        i for i, (_, cells) in enumerate(head[:HEADER_SEARCH_ROWS]) if any(clean(c) for c in cells)
    ]


def _reject_missing(
    source_file: str, kind: Kind, head: Rows, sources: Sources | None = None
) -> ImportRejected:
    best_i, best_cols = 0, {}
    for i in _header_candidates(head):
        cols = map_headers(head[i][1], kind)
        if len(cols) > len(best_cols):
            best_i, best_cols = i, cols
    f = _missing(kind, best_cols)[0]
    accepted = "、".join(dict.fromkeys((f.name, *f.headers)))
    cells = [clean(c) for c in head[best_i][1] if clean(c)] if head else []
    # Only column titles some kind knows are quoted: a file without a header row
    # shows its first data row here, and names, ID numbers and phones must never
    # reach a message (等保 2.0, PIPL).
    known = _known_headers(sources or _default_sources(), kind)
    found = [c for c in cells if header_key(c) in known]
    others = len(cells) - len(found)
    shown = "、".join(found) or "无可识别的列名"
    if others:
        shown += f"（另有 {others} 列未识别，内容不予显示）"
    return ImportRejected(
        f"{source_file}: 缺少必填列 {f.name} ({kind.label}/{kind.name}); 可用的列名 "
        f"(accepted headers): {accepted}; 文件中的列 (headers found): {shown}",
        file=source_file,
        field=f.name,
    )


def _default_sources() -> Sources:
    from analytics.sources import load_sources

    return load_sources()


def _known_headers(sources: Sources, kind: Kind) -> set[str]:
    """Every header (and field name) of every kind, as :func:`header_key` compares them."""
    known = set()
    for k in (*sources.kinds.values(), kind):
        for fld in k.fields:
            known.update(header_key(h) for h in (fld.name, *fld.headers))
    return known


def locate(
    source_file: str, head: Rows, sources: Sources, named: list[Kind], batch: str = ""
) -> Located:
    """Find the kind and header row of a table from its first rows, or reject the file.

    ``named`` are the kinds its name names: one decides; among several the headers
    decide (the kind they fit, by its required columns, with the most columns), and
    headers that fit none or several of them equally are refused, never guessed."""
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
    several = len(named) > 1
    if not best:
        if len(named) == 1:
            raise _reject_missing(source_file, named[0], head, sources)
        if several:
            raise ImportRejected(
                f"{where(batch, source_file)}: 无法判断文件类型 (cannot tell the kind of file): "
                f"{_SEVERAL} {_kind_names(named)}, "
                "表头不符合其中任何一个 (the headers fit none of them)",
                file=source_file,
                batch=batch,
            )
        names = "、".join(f"{k.label}({k.name})" for k in candidates[:30])
        raise ImportRejected(
            f"{source_file}: 无法判断文件类型 (cannot tell the kind of file): 文件名和表头都不匹配; "
            f"可能的类型 (could be): {names}",
            file=source_file,
        )
    top = max(b[0] for b in best)
    winners = [b for b in best if b[0] == top]
    if len(winners) > 1 and several:
        raise ImportRejected(
            f"{where(batch, source_file, row=head[-winners[0][1]][0])}: 无法判断文件类型 "
            f"(cannot tell the kind of file): {_SEVERAL} {_kind_names(named)}, "
            "表头同时符合 (the headers fit) "
            f"{_kind_names([b[2] for b in winners])}; "
            "请在名称中只写一个类型 (name one kind only)",
            file=source_file,
            batch=batch,
        )
    if len(winners) > 1:
        names = "、".join(f"{b[2].label}({b[2].name})" for b in winners)
        raise ImportRejected(
            f"{source_file}: 无法判断文件类型 (cannot tell the kind of file): 表头同时符合 "
            f"(headers fit) {names}; 请在文件名中写明类型 (name the kind in the file name)",
            file=source_file,
        )
    _, neg_i, kind, cols = winners[0]
    repeated = _reject_repeated(batch, source_file, kind, head[-neg_i])
    if repeated:
        raise repeated
    return Located(kind, -neg_i, cols, list(head[-neg_i][1]))
