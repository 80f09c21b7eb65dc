"""The registry's versions and its aggregates: open to every role (no personal data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics import store
from analytics.exports import KPI_COLUMNS as EXPORT_KPI_COLUMNS
from analytics.exports import other_goal_gap_columns
from analytics.registry.versions import goals_of
from analytics.store import frame as _df
from analytics.store import reading

# ---------------------------------------------------------------- registry status


@dataclass(frozen=True)
class Status:
    """What the database holds: the registry snapshots and the current one."""

    db: str
    exists: bool
    imported: bool = False
    snapshots: tuple[tuple[int, dt.date], ...] = field(default_factory=tuple)
    current_version: int | None = None
    current_as_of: dt.date | None = None
    region_code: str = ""
    region_name: str = ""

    @property
    def built(self) -> bool:
        return self.current_version is not None


def status(db: str | Path) -> Status:
    """The snapshots of the registry; ``built`` is False before the first build."""
    path = Path(db)
    if not path.exists():
        return Status(str(path), exists=False)
    try:
        return _status(path)
    except duckdb.IOException:
        # Nothing published yet and the first import holds the file: not imported yet.
        return Status(str(path), True)


def _status(path: Path) -> Status:
    with reading(path) as con:
        imported = store.has_table(con, "import_files") and bool(
            store.scalar(con, "SELECT count(*) FROM import_files")
        )
        if not store.has_table(con, "registry_versions"):
            return Status(str(path), True, imported)
        snaps = tuple(
            (int(v), a)
            for v, a in con.execute(
                "SELECT version, as_of FROM registry_versions ORDER BY as_of"
            ).fetchall()
        )
        current = store.get_meta(con, "current_version")
        region = store.get_meta(con, "region_code") or ""
        cur = next(((v, a) for v, a in snaps if current and v == int(current)), None)
        name = (
            store.scalar(
                con, "SELECT name FROM reg_kpi WHERE version = ? AND level = 'city'", [cur[0]]
            )
            if cur
            else None
        )
    return Status(
        str(path),
        True,
        imported,
        snaps,
        cur[0] if cur else None,
        cur[1] if cur else None,
        region,
        name or "",
    )


# ---------------------------------------------------------------- aggregates (every role)

KPI_COLUMNS = [
    "level",
    *EXPORT_KPI_COLUMNS,
    "population",
    "targets_enroll",
    "targets_upgrade",
    "targets_resume",
    "target_entities",
]


def goals(db: str | Path, version: int) -> dict[int, tuple[float, float]]:
    """year -> (coverage goal, structure goal) the version's gaps were computed with."""
    with reading(db) as con:
        return {g.year: (g.coverage, g.structure) for g in goals_of(con, version)}


def kpi(db: str | Path, version: int, level: str, parent: str | None = None) -> pd.DataFrame:
    """KPI rows of one level (city, street, community), optionally inside ``parent``.

    Aggregates carry no personal data: every role may read them."""
    if level not in ("city", "street", "community"):
        raise ValueError(f"level must be city, street or community, got {level!r}")
    with reading(db) as con:
        columns = [*KPI_COLUMNS, *other_goal_gap_columns(con)]
        out = _df(
            con,
            f"""
            SELECT {", ".join(columns)},
                   targets_enroll + targets_upgrade + targets_resume AS targets
            FROM reg_kpi
            WHERE version = $v AND level = $level
              AND ($parent IS NULL OR starts_with(code, $parent))
            ORDER BY code""",
            {"v": version, "level": level, "parent": parent},
        )
    for col in ("coverage_rate", "structure_ratio"):
        out[col] = out[col].astype("Float64")
    return out


def kpi_trend(db: str | Path, level: str = "city", codes: list[str] | None = None) -> pd.DataFrame:
    """KPI rows of every registry snapshot, oldest first (the quarterly trend)."""
    with reading(db) as con:
        columns = [*KPI_COLUMNS, *other_goal_gap_columns(con)]
        out = _df(
            con,
            f"""
            SELECT v.as_of, k.{", k.".join(columns)}
            FROM reg_kpi k JOIN registry_versions v USING (version)
            WHERE k.level = $level AND ($codes IS NULL OR list_contains($codes, k.code))
            ORDER BY v.as_of, k.code""",
            {"level": level, "codes": codes},
        )
    for col in ("coverage_rate", "structure_ratio"):
        out[col] = out[col].astype("Float64")
    return out


def areas(db: str | Path, version: int) -> pd.DataFrame:
    """Streets and their communities (code, name) known to the registry."""
    with reading(db) as con:
        return _df(
            con,
            """
            SELECT c.code AS community_code, c.name AS community_name,
                   substr(c.code, 1, 9) AS street_code, coalesce(s.name, '') AS street_name
            FROM reg_kpi c
            LEFT JOIN reg_kpi s ON s.version = c.version AND s.level = 'street'
                                AND s.code = substr(c.code, 1, 9)
            WHERE c.version = $v AND c.level = 'community'
            ORDER BY c.code""",
            {"v": version},
        )


def boundaries(db: str | Path, level: str, parent: str | None = None) -> pd.DataFrame:
    """The newest imported boundaries of one level (code, name, geometry as GeoJSON text)."""
    digits = {"street": 9, "community": 12}[level]
    with reading(db) as con:
        return _df(
            con,
            """
            SELECT code, name, geometry FROM boundaries
            WHERE import_seq = (SELECT max(import_seq) FROM boundaries)
              AND length(code) = $n AND ($parent IS NULL OR starts_with(code, $parent))
            ORDER BY code""",
            {"n": digits, "parent": parent},
        )


def _levels(codes: tuple[str, ...]) -> dict[str, list[str]]:
    """A grid's codes by KPI level: 9 digits a street, 12 a community."""
    out: dict[str, list[str]] = {}
    for code in codes:
        out.setdefault("street" if len(code) == 9 else "community", []).append(code)
    return out


def grid_kpi(db: str | Path, version: int, codes: tuple[str, ...]) -> pd.DataFrame:
    """KPI rows of a cadre's grid (their streets and communities), in code order."""
    parts = [
        kpi(db, version, level).loc[lambda f, c=cs: f["code"].isin(c)]
        for level, cs in _levels(tuple(codes)).items()
    ]
    return pd.concat(parts, ignore_index=True).sort_values("code", ignore_index=True)


def grid_trend(db: str | Path, codes: tuple[str, ...]) -> pd.DataFrame:
    """KPI rows of a cadre's grid at every registry snapshot, oldest first."""
    parts = [kpi_trend(db, level, cs) for level, cs in _levels(tuple(codes)).items()]
    return pd.concat(parts, ignore_index=True).sort_values(["as_of", "code"], ignore_index=True)
