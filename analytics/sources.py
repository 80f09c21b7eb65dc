"""The department file kinds of the data contract, read from ``config/sources.toml``.

A :class:`Kind` knows its fields, the headers each field accepts, its conflict
key and its closed value lists; :func:`load_sources` returns them all.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from analytics.config import load_config
from analytics.textnorm import clean, header_key

SOURCES_FILE = Path(__file__).parent / "config" / "sources.toml"
FIELD_TYPES = {
    "id",
    "uscc",
    "date",
    "number",
    "text",
    "enum",
    "address_code",
    "region_code",
    "division_code",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    headers: tuple[str, ...]  # as written in the mapping file, for messages
    values: str | None  # name of the closed value list, for enums


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # Chinese name, also matched in file names
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    event: bool  # death and survey accumulate over batches; the rest are state kinds
    person: bool  # rows are about a person (id_number)

    @property
    def required(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def header_lookup(self) -> dict[str, str]:
        """header_key(header) -> field name, for every accepted header."""
        out: dict[str, str] = {}
        for f in self.fields:
            out.setdefault(header_key(f.name), f.name)
            for h in f.headers:
                out.setdefault(header_key(h), f.name)
        return out


@dataclass(frozen=True)
class Sources:
    kinds: dict[str, Kind]
    values: dict[str, dict[str, str]]  # list name -> {cleaned spelling: canonical}
    labels: dict[str, dict[str, str]]  # what codes mean on screen, by list

    def canonical(self, list_name: str, value: str) -> str | None:
        """The canonical spelling of ``value`` in a closed list, or None."""
        return self.values[list_name].get(clean(value))

    def choices(self, list_name: str) -> tuple[str, ...]:
        """The canonical values of a closed list, in the mapping file's order."""
        return tuple(dict.fromkeys(self.values[list_name].values()))

    def kind_label(self, name: str) -> str:
        """The Chinese name of a department kind (or of boundaries), else the name."""
        kind = self.kinds.get(name)
        return kind.label if kind else self.labels["kind"].get(name, name)

    @property
    def event_kinds(self) -> tuple[str, ...]:
        """Kinds that accumulate over batches (the rest: the newest batch is in force)."""
        return tuple(k.name for k in self.kinds.values() if k.event)


def _merge_lists(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Add the extension's synonyms and aliases to the base mapping."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for name, syn in extra.get("common", {}).items():
        out["common"][name] = list(out["common"].get(name, [])) + list(syn)
    for kind_name, kind in extra.get("kinds", {}).items():
        base_kind = out["kinds"].get(kind_name)
        if base_kind is None:
            out["kinds"][kind_name] = kind
            continue
        fields = [dict(f) for f in base_kind["fields"]]
        for f in kind.get("fields", []):
            match = next((b for b in fields if b["name"] == f["name"]), None)
            if match is None:
                fields.append(f)
            else:
                match["headers"] = list(match.get("headers", [])) + list(f.get("headers", []))
        out["kinds"][kind_name] = {**base_kind, "fields": fields}
    for list_name, spellings in extra.get("values", {}).items():
        merged = {k: list(v) for k, v in out["values"].get(list_name, {}).items()}
        for canonical, aliases in spellings.items():
            merged[canonical] = merged.get(canonical, []) + list(aliases)
        out["values"][list_name] = merged
    return out


def _parse(raw: dict[str, Any]) -> Sources:
    common = raw.get("common", {})
    values = {
        name: {
            clean(alias): canon
            for canon, aliases in spellings.items()
            for alias in (canon, *aliases)
        }
        for name, spellings in raw["values"].items()
    }
    kinds: dict[str, Kind] = {}
    for name, spec in raw["kinds"].items():
        fields = []
        for f in spec["fields"]:
            if f["type"] not in FIELD_TYPES:
                raise ValueError(f"sources: {name}.{f['name']} has unknown type {f['type']!r}")
            if f["type"] == "enum" and f.get("values") not in values:
                raise ValueError(f"sources: {name}.{f['name']} names no known value list")
            headers = list(f.get("headers", []))
            if spec.get("person", True) or f["name"] not in ("name",):
                headers = list(common.get(f["name"], [])) + headers
            fields.append(
                Field(
                    f["name"],
                    f["type"],
                    bool(f.get("required", False)),
                    tuple(dict.fromkeys(headers)),
                    f.get("values"),
                )
            )
        kinds[name] = Kind(
            name,
            spec["label"],
            tuple(fields),
            tuple(spec["key"]),
            bool(spec.get("event", False)),
            bool(spec.get("person", True)),
        )
    labels = {
        name: {str(k): str(v) for k, v in table.items()}
        for name, table in raw.get("labels", {}).items()
    }
    return Sources(kinds, values, labels)


@lru_cache(maxsize=4)
def _load(extend: str | None) -> Sources:
    raw = tomllib.loads(SOURCES_FILE.read_text(encoding="utf-8"))
    if extend:
        raw = _merge_lists(raw, tomllib.loads(Path(extend).read_text(encoding="utf-8")))
    return _parse(raw)


def load_sources(extend: str | Path | None = None) -> Sources:
    """The kinds of the contract, plus the synonyms of ``extend`` or ``$KUOMIAN_SOURCES``."""
    chosen = str(extend) if extend else os.environ.get("KUOMIAN_SOURCES") or None
    if chosen is None:
        chosen = load_config().sources_extend or None
    return _load(chosen)
