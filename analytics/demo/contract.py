"""The data contract as the demo sees it: each kind's fields, keys and the defects that
suit it (``KINDS``), and the header variants departments use (``HEADERS``).

The tables are data, in ``contract.toml`` beside this module; this module only gives
them their types.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class KindSpec:
    """What the contract says about one kind, plus which defects suit it."""

    kind: str
    cn: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...] = ("id_number",)
    id_field: str | None = "id_number"
    dates: tuple[str, ...] = ()
    required_dates: tuple[str, ...] = ()
    ints: tuple[str, ...] = ()
    required_enums: dict[str, str] = field(default_factory=dict)  # field -> an unknown value
    # optional closed field -> (values that may be made unreadable without changing meaning, bad value)
    optional_enums: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    conflict_field: str | None = None
    optional_date_warn: str | None = None
    address_field: str | None = None
    name_mismatch: bool = True


_TUPLES = ("fields", "required", "key", "dates", "required_dates", "ints")


def _spec(kind: str, raw: dict) -> KindSpec:
    """One kind's table of contract.toml as a KindSpec (lists become tuples, "" no ID field)."""
    kw = {k: tuple(v) if k in _TUPLES else v for k, v in raw.items() if k != "headers"}
    if "id_field" in kw:
        kw["id_field"] = kw["id_field"] or None
    if "optional_enums" in kw:
        kw["optional_enums"] = {
            fld: (tuple(v["safe"]), v["bad"]) for fld, v in kw["optional_enums"].items()
        }
    return KindSpec(kind, **kw)


with open(Path(__file__).with_name("contract.toml"), "rb") as _fh:
    _CONTRACT: dict[str, dict] = tomllib.load(_fh)

KINDS: dict[str, KindSpec] = {kind: _spec(kind, raw) for kind, raw in _CONTRACT.items()}
# Header variants per kind (contract synonyms); a file uses one variant, chosen by year.
HEADERS: dict[str, tuple[dict[str, str], ...]] = {
    kind: tuple(raw["headers"]) for kind, raw in _CONTRACT.items()
}
