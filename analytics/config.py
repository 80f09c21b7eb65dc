"""Configuration: goals, group thresholds and region, read once from TOML.

Defaults live in ``analytics/config/kuomian.toml``; a file named by the
``KUOMIAN_CONFIG`` environment variable (or passed to :func:`load_config`)
overrides any of its keys. Every file is checked against the layout below
before it is merged: a key the layout does not have (a typo such as
``income_treshold``) is a :class:`ConfigError` naming the key and the file.
Goals may be given for any number of years (``[goals.YYYY]``). ``[limits]``
bounds what one import may cost (zip size, time per file, worksheet size, columns,
memory).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).parent / "config"
DEFAULTS = CONFIG_DIR / "kuomian.toml"


class ConfigError(ValueError):
    """A configuration file is missing a value, has one of the wrong kind, or a key
    the layout does not know."""


# The keys a configuration file may hold, by table ("goals" holds one table per year).
TOP_KEYS = frozenset({"region_code", "region_name", "goals", "groups", "sources", "limits"})
GOAL_KEYS = frozenset({"coverage", "structure"})
GROUP_KEYS = frozenset(
    {
        "income_threshold",
        "stable_employment_months",
        "platform_occupations",
        "freelance_practice_types",
        "subsidy_categories",
        "other_categories",
        "severe_disability_levels",
        "primary_group_order",
    }
)
SOURCES_KEYS = frozenset({"extend"})
LIMIT_KEYS = frozenset(
    {
        "max_unzipped_bytes",
        "file_read_seconds",
        "max_sheet_cells",
        "max_sheet_xml_bytes",
        "max_columns",
        "memory_limit",
        "build_memory_limit",
    }
)
# DuckDB's memory_limit setting: a number and a unit ("2GB", "512MiB").
_MEMORY = re.compile(r"[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


@dataclass(frozen=True)
class Goal:
    year: int
    coverage: float
    structure: float


@dataclass(frozen=True)
class GroupRules:
    income_threshold: float
    stable_employment_months: int
    platform_occupations: tuple[str, ...]
    freelance_practice_types: tuple[str, ...]
    subsidy_categories: tuple[str, ...]
    other_categories: tuple[str, ...]
    severe_disability_levels: tuple[str, ...]
    primary_group_order: tuple[int, ...]


@dataclass(frozen=True)
class Limits:
    """What one import may cost (issue "Keep serving"); ``[limits]`` in the configuration.

    The defaults are those of ``kuomian.toml``, for code that builds a Config by hand."""

    max_unzipped_bytes: int = 8 * 1024**3  # what a batch zip's directory may declare
    file_read_seconds: float = 600.0  # reading one file (or worksheet) into the database
    max_sheet_cells: int = 60_000_000  # rows × columns a worksheet's used range may span
    max_sheet_xml_bytes: int = 4 * 1024**3  # a worksheet's XML, uncompressed
    # Cells in one row of a table (a CSV record, a worksheet's used width). The widest
    # kind of the contract has 15 fields; every column is loaded as one text column, and
    # thousands of them exhaust DuckDB's memory on a file of a few kilobytes.
    max_columns: int = 512
    memory_limit: str = "2GB"  # DuckDB spills to disk above this during an import
    # ... and during a build: without it DuckDB takes up to 80% of the machine, and
    # the score step's frames come on top (10M people: 19.5 GB in two minutes).
    build_memory_limit: str = "8GB"


@dataclass(frozen=True)
class Config:
    region_code: str
    region_name: str
    goals: tuple[Goal, ...]
    groups: GroupRules
    sources_extend: str
    limits: Limits = Limits()

    def goal(self, year: int) -> Goal:
        for g in self.goals:
            if g.year == year:
                return g
        raise ConfigError(f"没有 {year} 年的目标 (no goal for {year})")


def _unknown(keys: Iterable[str], known: frozenset[str], prefix: str, path: Path) -> None:
    for key in keys:
        if key not in known:
            raise ConfigError(
                f"配置文件有未知的键 (unknown key {prefix}{key} in {path}); "
                f"known: {', '.join(sorted(known))}"
            )


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a table ([{key}]) in {path}")
    return value


def check_layout(raw: dict[str, Any], path: Path) -> None:
    """Raise :class:`ConfigError` for a key of ``raw`` (read from ``path``) that the
    layout does not have, or a goal year that is not a year."""
    _unknown(raw, TOP_KEYS, "", path)
    _unknown(_table(raw, "groups", path), GROUP_KEYS, "groups.", path)
    _unknown(_table(raw, "sources", path), SOURCES_KEYS, "sources.", path)
    _unknown(_table(raw, "limits", path), LIMIT_KEYS, "limits.", path)
    for year, goal in _table(raw, "goals", path).items():
        if not (len(year) == 4 and year.isdigit()):
            raise ConfigError(f"goals.{year} in {path}: a goal is keyed by its year ([goals.2025])")
        if not isinstance(goal, dict):
            raise ConfigError(f"goals.{year} must be a table ([goals.{year}]) in {path}")
        _unknown(goal, GOAL_KEYS, f"goals.{year}.", path)


def _read(path: Path) -> dict[str, Any]:
    """One configuration file, parsed and checked against the layout."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"配置文件无法解析 (config file is not valid TOML): {path}: {exc}"
        ) from exc
    check_layout(raw, path)
    return raw


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _positive(raw: dict[str, Any], key: str, kind: type) -> Any:
    value = raw[key]
    numeric = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric) or not value > 0:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"limits.{key} must be {what} above 0, got {value!r}")
    return kind(value)


_UNIT_BYTES = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNIT_BYTES.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def memory_bytes(size: str) -> int:
    """The bytes of a memory size as DuckDB reads it (KB = 1000 bytes, KiB = 1024).

    >>> memory_bytes("2GB"), memory_bytes("512MiB")
    (2000000000, 536870912)
    """
    m = _MEMORY.fullmatch(size.strip())
    if m is None:
        raise ValueError(f'a size such as "2GB" was expected, got {size!r}')
    number = size.strip()[: m.start(2)].strip()
    return int(float(number) * _UNIT_BYTES[m.group(2).lower()])


def _memory(raw: dict[str, Any], key: str) -> str:
    memory = raw[key]
    if not (isinstance(memory, str) and _MEMORY.fullmatch(memory.strip())):
        raise ConfigError(f'limits.{key} must be a size such as "2GB", got {memory!r}')
    return memory.strip()


def _limits(raw: dict[str, Any]) -> Limits:
    return Limits(
        max_unzipped_bytes=_positive(raw, "max_unzipped_bytes", int),
        file_read_seconds=_positive(raw, "file_read_seconds", float),
        max_sheet_cells=_positive(raw, "max_sheet_cells", int),
        max_sheet_xml_bytes=_positive(raw, "max_sheet_xml_bytes", int),
        max_columns=_positive(raw, "max_columns", int),
        memory_limit=_memory(raw, "memory_limit"),
        build_memory_limit=_memory(raw, "build_memory_limit"),
    )


def _build(raw: dict[str, Any]) -> Config:
    try:
        goals = tuple(
            Goal(int(year), float(g["coverage"]), float(g["structure"]))
            for year, g in sorted(raw["goals"].items())
        )
        gr = raw["groups"]
        groups = GroupRules(
            income_threshold=float(gr["income_threshold"]),
            stable_employment_months=int(gr["stable_employment_months"]),
            platform_occupations=tuple(gr["platform_occupations"]),
            freelance_practice_types=tuple(gr["freelance_practice_types"]),
            subsidy_categories=tuple(gr["subsidy_categories"]),
            other_categories=tuple(gr["other_categories"]),
            severe_disability_levels=tuple(gr["severe_disability_levels"]),
            primary_group_order=tuple(int(g) for g in gr["primary_group_order"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"配置文件有误 (bad configuration): {exc!r}") from exc
    limits = _limits(raw["limits"])
    if sorted(groups.primary_group_order) != list(range(1, 9)):
        raise ConfigError("primary_group_order must list the groups 1..8 once each")
    for g in goals:
        if not (0 < g.coverage <= 1 and 0 < g.structure <= 1):
            raise ConfigError(f"goal {g.year}: rates must be fractions in (0, 1]")
    region = str(raw.get("region_code", "") or "")
    if region and not (len(region) == 6 and region.isdigit()):
        raise ConfigError(f"region_code must be 6 digits, got {region!r}")
    return Config(
        region_code=region,
        region_name=str(raw.get("region_name", "") or ""),
        goals=goals,
        groups=groups,
        sources_extend=str(raw.get("sources", {}).get("extend", "") or ""),
        limits=limits,
    )


@lru_cache(maxsize=8)
def _load(path: str | None) -> Config:
    raw = _read(DEFAULTS)
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"配置文件不存在 (config file not found): {p}")
        raw = _merge(raw, _read(p))
    return _build(raw)


def load_config(path: str | Path | None = None) -> Config:
    """The configuration: defaults, overridden by ``path`` or ``$KUOMIAN_CONFIG``."""
    chosen = str(path) if path else os.environ.get("KUOMIAN_CONFIG") or None
    return _load(chosen)
