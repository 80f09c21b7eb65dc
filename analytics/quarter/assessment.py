"""考核: each street's task for a year and what it has done of it, as the data
contract's "Quarter and year" section says (``kuomian export assessment``).

For a ``year`` and an as-of date:

- ``baseline_as_of`` is the newest imported date before 1 January of ``year``,
  else the earliest imported date in ``year``; ``as_of`` the date given, else the
  newest imported date in ``year``; ``goal_year`` the first configured goal year
  on or after ``year``.
- The gaps are the kpi export's street gaps toward ``goal_year`` (coverage gap =
  ceil(goal × legal_population − insured), structure gap = ceil(goal ×
  contributors − employee_contributors), 0 when met) in the registry of each
  date. A date is read from its stored snapshot when one was built from exactly
  what is in force on it now with the current code and configuration (the build's
  own snapshot key, :mod:`analytics.registry.keys`); otherwise the build's SQL steps
  up to the KPI mart run on temporary tables of a read-only connection to the
  import store: nothing is written and nothing is published. The score step and
  the target marts after the KPI are skipped (the KPI counts do not read them).
- ``*_task`` is, each task on its own, the app's newest edit for the street and
  year when it gives that task (:mod:`analytics.quarter.tasks`: edited in the
  app, at every as-of date of the year), else the imported task (the ``task`` kind
  in force at ``as_of``: the newest batch on or before it that carries the kind),
  else the default ``ceil(gap(baseline) / (goal_year − year + 1))``; ``*_done`` =
  gap(baseline) − gap(as_of), negative when the street fell back;
  ``*_completion`` = done ÷ task, unrounded, empty when the task is 0.
- Rows are the union of the streets in the two dates' KPI; a side without the
  street counts as gap 0. Tasks of streets in neither are not listed.

After the contract's columns come, per street:

- ``coverage_task_source`` / ``structure_task_source``: ``app``, ``imported`` or
  ``default``;
- the gaps at both dates (``coverage_gap_baseline``, ``coverage_gap_as_of``, …);
- ``year_elapsed``: the share of the year gone at ``as_of`` (day of the year ÷
  days in the year: 30 June 2025 is 181/365);
- ``coverage_pace`` / ``structure_pace``: ``on_track`` when the completion is at
  least ``year_elapsed`` (compared exactly, in integers), else ``behind``; with a
  task of 0, ``on_track`` unless the street fell back (done < 0);
- ``coverage_goal_date`` / ``structure_goal_date``: when the street reaches
  ``goal_year``'s goal at its own pace, the gap's fall per day from
  ``baseline_as_of`` to ``as_of`` carried forward: ``as_of + ceil(gap(as_of) ×
  days ÷ done)`` days; ``as_of`` itself when the gap is already 0 there; empty
  when the gap did not fall (done ≤ 0, or the two dates are one).

A year with no imported date on or before its end, or none in it, a year after
the last goal year, and an as-of date outside the year or before the baseline
are refused with :class:`AssessmentError`, whose message is one line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics import published, store
from analytics.config import Config, load_config
from analytics.exports import safe_text_sql
from analytics.quarter.tasks import edited_tasks
from analytics.registry import build
from analytics.registry.in_force import define_in_force
from analytics.registry.keys import snapshot_keys
from analytics.registry.runner import run_steps

ASSESSMENT_COLUMNS = [
    "street_code",
    "name",
    "year",
    "goal_year",
    "baseline_as_of",
    "as_of",
    "coverage_task",
    "coverage_done",
    "coverage_completion",
    "structure_task",
    "structure_done",
    "structure_completion",
]
EXTRA_COLUMNS = [
    "coverage_task_source",
    "structure_task_source",
    "coverage_gap_baseline",
    "coverage_gap_as_of",
    "structure_gap_baseline",
    "structure_gap_as_of",
    "year_elapsed",
    "coverage_pace",
    "structure_pace",
    "coverage_goal_date",
    "structure_goal_date",
    "legal_population",
]
MEASURES = ("coverage", "structure")

# The build's steps up to the KPI mart with the gaps of every configured goal
# year (the Python step other_goal_years). What follows — targets, the score step,
# the ranked targets — the KPI does not read.
_LAST_KPI_STEP = "other_goal_years"
KPI_STEPS = build.PIPELINE[: [s.name for s in build.PIPELINE].index(_LAST_KPI_STEP) + 1]


class AssessmentError(ValueError):
    """An assessment that cannot be made; the message is one line for the user."""


@dataclass(frozen=True)
class Window:
    """The dates and goal year of one assessment."""

    year: int
    goal_year: int
    baseline: dt.date
    as_of: dt.date


def assessment_window(
    dates: Sequence[dt.date], year: int, as_of: dt.date | None, goal_years: Sequence[int]
) -> Window:
    """The baseline, as-of date and goal year of ``year``'s assessment over the
    imported ``dates`` (data contract, "Quarter and year").

    >>> d = [dt.date(2024, 12, 31), dt.date(2025, 3, 31), dt.date(2025, 6, 30)]
    >>> assessment_window(d, 2025, None, [2025, 2035])
    Window(year=2025, goal_year=2025, baseline=datetime.date(2024, 12, 31), as_of=datetime.date(2025, 6, 30))
    """
    dates = sorted(set(dates))
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if not any(d <= end for d in dates):
        raise AssessmentError(
            f"{year} 年底前没有已导入的日期 (no imported date on or before the end of {year})"
        )
    later_goals = sorted(g for g in goal_years if g >= year)
    if not later_goals:
        last = max(goal_years) if goal_years else None
        raise AssessmentError(
            f"{year} 年晚于最后的目标年 {last} (year {year} is after the last goal year {last})"
        )
    before = [d for d in dates if d < start]
    within = [d for d in dates if start <= d <= end]
    if not within:
        raise AssessmentError(f"{year} 年内没有已导入的日期 (no imported date in {year})")
    baseline = before[-1] if before else within[0]
    if as_of is None:
        as_of = within[-1]
    elif not start <= as_of <= end:
        raise AssessmentError(
            f"考核日期 {as_of} 不在 {year} 年内 (as-of date {as_of} is not in {year})"
        )
    elif as_of < baseline:
        raise AssessmentError(
            f"考核日期 {as_of} 早于基期 {baseline} (as-of date {as_of} is before the baseline {baseline})"
        )
    return Window(year, later_goals[0], baseline, as_of)


def year_elapsed(as_of: dt.date) -> tuple[int, int]:
    """(days gone, days in the year) at ``as_of``, its own day counted.

    >>> year_elapsed(dt.date(2025, 6, 30)), year_elapsed(dt.date(2024, 12, 31))
    ((181, 365), (366, 366))
    """
    first = dt.date(as_of.year, 1, 1)
    return (as_of - first).days + 1, (dt.date(as_of.year + 1, 1, 1) - first).days


@dataclass
class Imports:
    """A read-only view of the import store for assessments: the imported dates, the
    street KPIs of any date (stored snapshot or computed on temporary tables) and the
    task rows in force. One per :func:`open_imports` block."""

    con: duckdb.DuckDBPyConnection
    cfg: Config
    region: str
    dates: list[dt.date]
    _kpi: dict[tuple[dt.date, int], pd.DataFrame] = field(default_factory=dict)
    _code_hash: str | None = None
    # The registry database, whose app store holds the tasks edited in the app.
    db: Path | None = None

    def _stored_version(self, d: dt.date) -> int | None:
        """The stored snapshot of ``d`` built from what is in force on it now, with
        this code and configuration (the build's reuse rule), if any."""
        if not (
            store.has_table(self.con, "registry_versions") and store.has_table(self.con, "reg_kpi")
        ):
            return None
        if self._code_hash is None:
            self._code_hash = build.code_hash(self.cfg)
        key = snapshot_keys(self.con, [d], f"{self._code_hash}|{self.region}")[d]
        found = store.scalar(
            self.con,
            "SELECT max(version) FROM registry_versions WHERE as_of = ? AND snapshot_key = ? "
            "AND version IN (SELECT version FROM reg_kpi)",
            [d, key],
        )
        return int(found) if found is not None else None

    def street_kpi(self, d: dt.date, goal_year: int) -> pd.DataFrame:
        """Per street of the registry of ``d``: ``street_code, name, legal_population,
        insured, contributors, employee_contributors, coverage_gap, structure_gap``
        (the gaps toward ``goal_year``), as the kpi export has them."""
        cached = self._kpi.get((d, goal_year))
        if cached is not None:
            return cached
        cov, struct = f"coverage_gap_{int(goal_year)}", f"structure_gap_{int(goal_year)}"
        select = f"""SELECT code AS street_code, nullif(name, '') AS name, legal_population,
                            insured, contributors, employee_contributors,
                            {cov} AS coverage_gap, {struct} AS structure_gap
                     FROM {{table}} WHERE level = 'street' AND code IS NOT NULL {{where}}
                     ORDER BY code"""
        version = self._stored_version(d)
        columns = (
            {r[0] for r in self.con.execute("DESCRIBE reg_kpi").fetchall()} if version else set()
        )
        if version is not None and {cov, struct} <= columns:
            frame = self.con.execute(
                select.format(table="reg_kpi", where="AND version = ?"), [version]
            ).df()
        else:
            ctx = build.BuildContext(self.con, d, self.region, self.cfg, learn=False)
            run_steps(self.con, KPI_STEPS, build.STEPS_DIR, ctx)
            frame = self.con.execute(select.format(table="mart_kpi", where="")).df()
        self._kpi[(d, goal_year)] = frame
        return frame

    def tasks(self, year: int, d: dt.date) -> pd.DataFrame:
        """The imported tasks of ``year`` in force at ``d``: ``street_code,
        coverage_task, structure_task`` (empty where the file left the task empty)."""
        if not store.has_table(self.con, "src_task"):
            return pd.DataFrame(columns=["street_code", "coverage_task", "structure_task"])
        return self.con.execute(
            """SELECT street_code, CAST(coverage_task AS BIGINT) AS coverage_task,
                      CAST(structure_task AS BIGINT) AS structure_task
               FROM src_task
               WHERE in_force('task', as_of, $d) AND year = $year
               ORDER BY street_code""",
            {"d": d, "year": year},
        ).df()


@contextmanager
def open_imports(db: str | Path | None = None, config: Config | None = None) -> Iterator[Imports]:
    """The import store of ``db`` opened read-only, for the block."""
    cfg = config or load_config()
    path = Path(db) if db else store.default_db()
    # DuckDB refuses a read-only and a read-write connection to one file within a
    # process: this connection is taken under the process's lock, as writers' are.
    with store.writing():
        try:
            con = store.connect(path, read_only=True)
        except duckdb.IOException as exc:
            raise AssessmentError(
                "数据库正被导入或构建占用，请稍后再试 (the database is held by an import or "
                f"a build; try again later): {str(exc).splitlines()[0]}"
            ) from exc
        try:
            define_in_force(con)
            # The stored versions' KPIs and groups, reused where a date's inputs are unchanged.
            published.attach_stored(con, path, ("reg_kpi", "reg_persons"))
            # The survey staging step reads the app's visits with the imported rows.
            store.attach_visits(con, path)
            dates = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT as_of FROM import_files ORDER BY as_of"
                ).fetchall()
            ]
            region = store.get_meta(con, "region_code") or cfg.region_code
            yield Imports(con, cfg, region, dates, db=path)
        finally:
            con.close()


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _goal_date(gap_base: int, gap_now: int, baseline: dt.date, as_of: dt.date) -> dt.date | None:
    """When the gap reaches 0 at the pace it fell from ``baseline`` to ``as_of``."""
    if gap_now <= 0:
        return as_of
    done, days = gap_base - gap_now, (as_of - baseline).days
    if done <= 0 or days <= 0:
        return None
    ahead = _ceil_div(gap_now * days, done)
    if ahead > (dt.date.max - as_of).days:
        return None
    return as_of + dt.timedelta(days=ahead)


def assess(imp: Imports, year: int, as_of: dt.date | None = None) -> pd.DataFrame:
    """The assessment frame of ``year`` on an open :class:`Imports`."""
    w = assessment_window(imp.dates, year, as_of, [g.year for g in imp.cfg.goals])
    base = imp.street_kpi(w.baseline, w.goal_year)
    now = imp.street_kpi(w.as_of, w.goal_year)
    tasks = imp.tasks(year, w.as_of).set_index("street_code")
    edits = (
        edited_tasks(imp.db, year).set_index("street_code")
        if imp.db is not None
        else pd.DataFrame(columns=["coverage_task", "structure_task"])
    )
    streets = sorted(set(base["street_code"]) | set(now["street_code"]))
    base_i, now_i = base.set_index("street_code"), now.set_index("street_code")
    gone, days_in_year = year_elapsed(w.as_of)
    years_left = w.goal_year - year + 1
    rows = []
    for code in streets:
        # The name in the as-of date's registry, else the baseline's.
        name = now_i["name"].get(code)
        if name is None or pd.isna(name):
            name = base_i["name"].get(code)
        row: dict[str, object] = {
            "street_code": code,
            "name": None if name is None or pd.isna(name) else name,
            "year": year,
            "goal_year": w.goal_year,
            "baseline_as_of": w.baseline,
            "as_of": w.as_of,
        }
        extra: dict[str, object] = {}
        for m in MEASURES:
            gap_base = int(base_i[f"{m}_gap"].get(code, 0))
            gap_now = int(now_i[f"{m}_gap"].get(code, 0))
            edited = edits[f"{m}_task"].get(code) if code in edits.index else None
            imported = tasks[f"{m}_task"].get(code) if code in tasks.index else None
            if edited is not None and not pd.isna(edited):
                task, source = int(edited), "app"
            elif imported is not None and not pd.isna(imported):
                task, source = int(imported), "imported"
            else:
                task, source = _ceil_div(gap_base, years_left), "default"
            done = gap_base - gap_now
            row[f"{m}_task"] = task
            row[f"{m}_done"] = done
            row[f"{m}_completion"] = done / task if task else None
            on_track = done >= 0 if task == 0 else done * days_in_year >= task * gone
            extra[f"{m}_task_source"] = source
            extra[f"{m}_gap_baseline"] = gap_base
            extra[f"{m}_gap_as_of"] = gap_now
            extra[f"{m}_pace"] = "on_track" if on_track else "behind"
            extra[f"{m}_goal_date"] = _goal_date(gap_base, gap_now, w.baseline, w.as_of)
        extra["year_elapsed"] = gone / days_in_year
        # The legal population at the as-of date (0 for a street nobody lives in:
        # the ranking leaves such a street out).
        extra["legal_population"] = int(now_i["legal_population"].get(code, 0) or 0)
        rows.append({**row, **extra})
    frame = pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS + EXTRA_COLUMNS)
    for c in (
        "year",
        "goal_year",
        "coverage_task",
        "coverage_done",
        "structure_task",
        "structure_done",
        "coverage_gap_baseline",
        "coverage_gap_as_of",
        "structure_gap_baseline",
        "structure_gap_as_of",
        "legal_population",
    ):
        frame[c] = frame[c].astype("int64")
    for c in ("coverage_completion", "structure_completion", "year_elapsed"):
        frame[c] = frame[c].astype("float64")
    return frame


def assessment(
    db: str | Path | None, year: int, as_of: dt.date | None = None, config: Config | None = None
) -> pd.DataFrame:
    """One row per street: the contract's assessment columns, then
    :data:`EXTRA_COLUMNS` (see the module's docstring)."""
    with open_imports(db, config) as imp:
        return assess(imp, int(year), as_of)


def task_rows(
    db: str | Path | None, year: int, as_of: dt.date, config: Config | None = None
) -> pd.DataFrame:
    """The imported tasks of ``year`` in force at ``as_of`` (the newest batch on or
    before it that carries the task kind): ``street_code, coverage_task,
    structure_task``, a task empty where the file left it empty."""
    with open_imports(db, config) as imp:
        return imp.tasks(int(year), as_of)


def export_assessment(
    db: str | Path | None,
    year: int,
    out: str | Path,
    as_of: dt.date | None = None,
    config: Config | None = None,
) -> int:
    """Write the assessment CSV (UTF-8, a header row, the contract's columns first,
    text cells made safe as every export's); returns the number of rows."""
    out = Path(out)
    with open_imports(db, config) as imp:
        frame = assess(imp, int(year), as_of)
        imp.con.register("_assessment", frame)
        try:
            sql = "SELECT * FROM _assessment ORDER BY street_code"
            out.parent.mkdir(parents=True, exist_ok=True)
            # DuckDB writes integers as integers, NULL (and NaN from pandas) as empty
            # and doubles exactly, as the other exports do.
            imp.con.sql(safe_text_sql(imp.con, sql)).to_csv(str(out), header=True, sep=",")
        finally:
            imp.con.unregister("_assessment")
    return len(frame)
