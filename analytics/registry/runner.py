"""The step runner of the registry build: a declared sequence of steps, each a
``.sql`` file (one table or macro per file, named after it) or a named Python
step, run in order on one connection.

A failing SQL statement raises :class:`BuildError` naming the step file, the
statement's first line and DuckDB's message; no DuckDB error escapes raw. With
``debug`` each statement (and each Python step) prints its rows and time, as
Splink's debug mode does, so a maintainer can find the step behind a number.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from analytics import store
from analytics.registry.errors import BuildError


@dataclass(frozen=True)
class SqlStep:
    """A step file of the steps directory, e.g. ``SqlStep("210_int_population.sql")``."""

    file: str

    @property
    def name(self) -> str:
        return self.file


@dataclass(frozen=True)
class PythonStep:
    """A step done in Python: ``run(context)``; ``table`` is the table it writes
    (its rows are printed in debug mode)."""

    name: str
    run: Callable[[Any], None]
    table: str | None = None


Step = SqlStep | PythonStep


def split_statements(sql: str) -> list[str]:
    """Statements of a step file (they end with ';' at a line end)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";").strip()]


def created_table(sql: str) -> str:
    """The table a ``CREATE … TABLE name AS`` statement creates, else ''."""
    return sql.split("TABLE", 1)[1].split()[0] if " TABLE " in sql else ""


def _rows(con: duckdb.DuckDBPyConnection, table: str | None) -> object:
    return store.scalar(con, f"SELECT count(*) FROM {table}") if table else ""


def _debug(name: str, head: str, rows: object, t0: float) -> None:
    print(f"[{name}] {head} … rows={rows} {time.perf_counter() - t0:.3f}s", file=sys.stderr)


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, debug: bool = False) -> None:
    """Execute the statements of one step file in order."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(
            f"步骤文件无法读取 (step file cannot be read): {path.name}: {exc}"
        ) from exc
    for sql in split_statements(text):
        t0 = time.perf_counter()
        try:
            con.execute(sql)
            rows = _rows(con, created_table(sql)) if debug else ""
        except duckdb.Error as exc:
            first = sql.splitlines()[0].strip()
            raise BuildError(
                f"构建步骤失败 (build step failed): {path.name}: {first}: {exc}"
            ) from exc
        if debug:
            _debug(path.name, " ".join(sql.split())[:100], rows, t0)


def run_python_step(
    con: duckdb.DuckDBPyConnection, step: PythonStep, context: Any, debug: bool = False
) -> None:
    t0 = time.perf_counter()
    try:
        step.run(context)
        rows = _rows(con, step.table) if debug else ""
    except duckdb.Error as exc:
        raise BuildError(f"构建步骤失败 (build step failed): {step.name} (python): {exc}") from exc
    if debug:
        _debug(step.name, f"python step {step.name}", rows, t0)


# What a step does, by its layer (the table's prefix), for a progress line a
# bureau's user reads: 整理 户籍人口 rather than 100_stg_hukou.sql.
_LAYERS = {"stg": "整理", "int": "关联", "mart": "汇总", "macro": "准备"}
_PYTHON_STEPS = {"params": "准备参数", "score": "评分排序", "other_goal_years": "其他目标年度"}


def step_label(step: Step, kind_label: Callable[[str], str] = str) -> str:
    """A step's name for a progress line, e.g. ``整理 户籍人口`` for
    ``100_stg_hukou.sql`` (``kind_label`` names a staging step's kind).

    >>> step_label(SqlStep("210_int_population.sql"))
    '关联 population'
    """
    if isinstance(step, PythonStep):
        return _PYTHON_STEPS.get(step.name, step.name)
    table = step.file.removesuffix(".sql").split("_", 1)[-1]
    layer, _, rest = table.partition("_")
    if layer not in _LAYERS:
        return table
    return f"{_LAYERS[layer]} {kind_label(rest) if layer == 'stg' else rest}"


def run_steps(
    con: duckdb.DuckDBPyConnection,
    steps: Iterable[Step],
    directory: Path,
    context: Any = None,
    debug: bool = False,
    progress: Callable[[Step, int, int], None] | None = None,
) -> None:
    """Run ``steps`` in order: SQL files from ``directory``, Python steps with ``context``.
    ``progress(step, n, N)`` is called before each step (n from 1)."""
    steps = list(steps)
    for n, step in enumerate(steps, start=1):
        if progress:
            progress(step, n, len(steps))
        if isinstance(step, SqlStep):
            run_sql_file(con, directory / step.file, debug)
        else:
            run_python_step(con, step, context, debug)
