"""Shared fixtures: a fresh database path per test, a batch root, and an
environment where no user configuration leaks into the importer."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/batchgen.py


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests do not read the developer's KUOMIAN_* settings."""
    for var in ("KUOMIAN_CONFIG", "KUOMIAN_SOURCES", "KUOMIAN_DB"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def _empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the import tables and nothing in them, made once."""
    from analytics import store

    path = tmp_path_factory.mktemp("template") / "empty.duckdb"
    store.connect(path).close()
    return path


@pytest.fixture
def db(tmp_path: Path, _empty_db: Path) -> Path:
    """Path of a fresh, empty database of this test (a copy of the template:
    creating the schema is most of the cost of a tiny import)."""
    path = tmp_path / "db" / "kuomian.duckdb"
    path.parent.mkdir()
    shutil.copyfile(_empty_db, path)
    return path


@pytest.fixture
def new_db_path(tmp_path: Path) -> Path:
    """Path of a database file that does not exist yet."""
    return tmp_path / "new" / "kuomian.duckdb"


@pytest.fixture
def batches(tmp_path: Path) -> Path:
    root = tmp_path / "batches"
    root.mkdir()
    return root


def dump_tables(db_path: Path, skip_columns: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every table of the database, rows sorted, for before/after comparisons."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables ORDER BY table_name"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                    "ORDER BY ordinal_position",
                    [t],
                ).fetchall()
                if r[0] not in skip_columns
            ]
            sel = ", ".join(f'"{c}"' for c in cols)
            out[t] = sorted(con.execute(f'SELECT {sel} FROM "{t}"').fetchall(), key=repr)
        return out
    finally:
        con.close()


@pytest.fixture
def dump():
    return dump_tables


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with cheap parameters for tests that make many password hashes
    (the accounts' production hasher keeps argon2-cffi's defaults: 64 MiB, 3 passes)."""
    from argon2 import PasswordHasher

    from analytics import accounts

    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
