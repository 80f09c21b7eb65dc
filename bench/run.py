"""The scale benchmark (issue "Scale"): the pipeline against two references.

    python bench/run.py --persons N [--json OUT] [--runs R] [--work DIR] [--seed S]

Generates the demo region of N persons (or reuses the one already in the work
dir for that N and seed), then runs R rounds. In each round every step runs as
a fresh process, and the references run between the steps of the same round:

- ``floor``: DuckDB only reading every data file into tables (CSV natively,
  GBK/GB18030 re-encoded to UTF-8 in Python first, xlsx through python-calamine
  into Arrow);
- ``pandas``: a straightforward pandas build of the street KPIs (read each file,
  merge on ID, group by street); its city coverage rate is checked against
  ``kuomian export kpi --level city``;
- ``kuomian import`` of every batch into a fresh database, the first ``kuomian
  build``, a rebuild with nothing changed (run with ``--debug``, which gives the
  time of the ``score`` step of the target date), every export of the contract,
  each dashboard page's read functions (first render and a filter change,
  server side, in a fresh process), and the recurring quarter (every batch but
  the newest imported and built once, untimed; each round starts from a copy
  of that database and times importing the newest batch, then the build).

Reports the median, min and max wall seconds, the median CPU seconds (user +
system) and the peak memory (max RSS) of each step's process, both from
``wait4``, and the ratio to the floor; ``--json``
writes every run's raw numbers with the machine and the date. Benchmarks
never assert times: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ME = Path(__file__).resolve()

EXPORTS = [
    ("targets", []),
    ("kpi", ["--level", "city"]),
    ("kpi", ["--level", "street"]),
    ("kpi", ["--level", "community"]),
    ("problems", []),
    ("entities", []),
    ("imports", []),
]
PAGES = ["overview", "map", "visits", "registry", "data_import"]
COVERAGE_TOLERANCE = 0.005  # pandas city coverage rate vs the export, absolute

# ---------------------------------------------------------------- running children


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    return env


def run_child(args: list[str], work: Path) -> dict:
    """Run ``python ARGS`` as a fresh process: wall seconds, max RSS (MiB) and its
    output. stdout/stderr go to files, so a chatty child never blocks on a pipe."""
    out_path, err_path = work / "child.out", work / "child.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], stdout=out, stderr=err, env=_env())
        _, status, rusage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} exited {code}: {stderr[-2000:]}")
    return {
        "seconds": seconds,
        "rss_mib": rusage.ru_maxrss / 1024,  # KiB on Linux
        # User + system CPU of the process: over the wall seconds, the cores it kept busy.
        "cpu_seconds": rusage.ru_utime + rusage.ru_stime,
        "stdout": stdout,
        "stderr": stderr,
    }


def kuomian(args: list[str], work: Path) -> dict:
    return run_child(["-m", "analytics.cli", *args], work)


def me(args: list[str], work: Path) -> dict:
    return run_child([str(ME), *args], work)


# ---------------------------------------------------------------- the demo region


def batches(demo: Path) -> list[Path]:
    return sorted(p for p in demo.iterdir() if p.is_dir() and not p.name.startswith("."))


def data_files(demo: Path) -> list[Path]:
    return [
        f
        for b in batches(demo)
        for f in sorted(b.iterdir())
        if f.suffix.lower() in (".csv", ".xlsx")
    ]


def ensure_demo(work: Path, persons: int, seed: int) -> tuple[Path, float | None]:
    """The demo region for (persons, seed), generated once per work dir."""
    demo = work / f"demo-{persons}-seed{seed}"
    if (demo / ".bench-done").exists():
        return demo, None
    shutil.rmtree(demo, ignore_errors=True)
    r = kuomian(["demo", "--out", str(demo), "--persons", str(persons), "--seed", str(seed)], work)
    (demo / ".bench-done").write_text(f"{r['seconds']:.1f}\n")
    return demo, r["seconds"]


def _size_mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# ---------------------------------------------------------------- reference: the floor


def _decode(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "gb18030"


def child_floor(demo: Path, db: Path) -> dict:
    """DuckDB reads every data file into a table of text columns, nothing else."""
    import duckdb
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    if db.exists():
        db.unlink()
    con = duckdb.connect(str(db))
    rows = recoded = 0
    tmp = Path(tempfile.mkdtemp(prefix="floor-", dir=db.parent))
    try:
        for i, path in enumerate(data_files(demo)):
            table = f"f{i}"
            if path.suffix.lower() == ".csv":
                src = path
                try:
                    path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    src = tmp / f"{i}.csv"
                    src.write_text(_decode(path)[0], encoding="utf-8")
                    recoded += 1
                con.execute(
                    f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = false, "
                    "all_varchar = true, null_padding = true)",
                    [str(src)],
                )
            else:
                cells = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
                width = max((len(r) for r in cells), default=0)
                cols = [
                    pa.array(
                        [
                            None if (c := r[j] if j < len(r) else "") == "" else str(c)
                            for r in cells
                        ],
                        pa.string(),
                    )
                    for j in range(width)
                ]
                arrow = pa.table(cols, names=[f"c{j}" for j in range(width)])  # noqa: F841
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM arrow")
            rows += con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"files": len(data_files(demo)), "rows": rows, "recoded_csv": recoded}


# ---------------------------------------------------------------- reference: pandas

ID_HEADERS = {"身份证号", "身份证号码", "公民身份号码", "证件号码", "社会保障号码", "社会保障卡号"}
# kind -> (names in the file name, {field: header synonyms})
PANDAS_KINDS = {
    "hukou": (
        ("hukou", "户籍"),
        {
            "address_code": ("户籍地址编码", "社区编码", "村居编码", "区划代码"),
            "status": ("人口状态",),
        },
    ),
    "residence": (
        ("residence", "居住证"),
        {"address_code": ("居住地址编码", "社区编码", "区划代码")},
    ),
    "death": (("death", "死亡"), {}),
    "pension_enrollment": (
        ("pension_enrollment", "养老保险参保"),
        {"scheme": ("险种", "险种类型"), "status": ("参保状态", "缴费状态")},
    ),
    "student": (("student", "在校生"), {}),
    "inmate": (("inmate", "服刑"), {"release_date": ("刑满日期",)}),
}


FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


def _kind(path: Path) -> str | None:
    name = path.stem.lower()
    for kind, (names, _) in PANDAS_KINDS.items():
        if any(n in name for n in names):
            return kind
    return None


def _read_pandas(path: Path, kind: str):
    """One file as a frame of the canonical fields (text), header found in the first rows."""
    import io

    import pandas as pd

    if path.suffix.lower() == ".csv":
        text, _ = _decode(path)
        head = text.splitlines()[:8]
        skip = next(
            i for i, line in enumerate(head) if ID_HEADERS & {c.strip() for c in line.split(",")}
        )
        df = pd.read_csv(io.StringIO(text), skiprows=skip, dtype=str, keep_default_na=False)
    else:
        raw = pd.read_excel(path, header=None, dtype=str, engine="calamine", nrows=8)
        skip = next(i for i in range(len(raw)) if ID_HEADERS & set(raw.iloc[i].astype(str)))
        df = pd.read_excel(path, skiprows=skip, dtype=str, engine="calamine").fillna("")
    df.columns = [str(c).strip() for c in df.columns]
    fields = {"id_number": tuple(ID_HEADERS), **PANDAS_KINDS[kind][1]}
    out = pd.DataFrame(index=df.index)
    for field, names in fields.items():
        col = next((c for c in df.columns if c in names), None)
        out[field] = df[col].str.strip() if col else ""
    out["id_number"] = out["id_number"].str.translate(FULL_WIDTH).str.upper()
    return out


def _valid_ids(ids):
    """GB 11643 check digit on 18-character IDs (vectorised); no 15-digit upgrade."""
    import numpy as np

    ids = ids[ids.str.fullmatch(r"[0-9]{17}[0-9X]")]
    if ids.empty:
        return ids
    digits = np.frombuffer("".join(ids.str[:17]).encode(), dtype=np.uint8).reshape(-1, 17) - 48
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    check = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    return ids[ids.str[17].to_numpy() == check]


def child_pandas(demo: Path) -> dict:
    """Street KPIs with pandas: the newest batch of each kind is in force (all its
    files), death accumulates over every batch; merge on ID, group by street."""
    import tomllib

    import pandas as pd

    bs = batches(demo)
    manifest = tomllib.loads((bs[-1] / "manifest.toml").read_text(encoding="utf-8"))
    as_of, region = pd.Timestamp(manifest["as_of"]), str(manifest["region_code"])
    frames: dict[str, list] = {k: [] for k in PANDAS_KINDS}
    for b in reversed(bs):  # newest first: a kind's newest batch replaces older ones
        here: dict[str, list] = {}
        for f in sorted(b.iterdir()):
            if f.suffix.lower() in (".csv", ".xlsx") and (kind := _kind(f)):
                here.setdefault(kind, []).append(_read_pandas(f, kind))
        for kind, got in here.items():
            if kind == "death" or not frames[kind]:
                frames[kind].extend(got)
    t = {
        k: pd.concat(v, ignore_index=True)
        if v
        else pd.DataFrame(columns=["id_number", *PANDAS_KINDS[k][1]])
        for k, v in frames.items()
    }
    for k in t:
        t[k] = t[k][t[k]["id_number"].isin(set(_valid_ids(t[k]["id_number"].drop_duplicates())))]
    hukou = t["hukou"].drop_duplicates("id_number")
    res = t["residence"].drop_duplicates("id_number")
    people = hukou.merge(res, on="id_number", how="outer", suffixes=("", "_res"))
    people["address_code"] = people["address_code"].fillna(people["address_code_res"])
    people = people[people["address_code"].fillna("").str.startswith(region)].copy()
    birth = pd.to_datetime(people["id_number"].str[6:14], format="%Y%m%d", errors="coerce")
    age = (
        as_of.year
        - birth.dt.year
        - ((birth.dt.month * 100 + birth.dt.day) > as_of.month * 100 + as_of.day)
    )
    inmate = t["inmate"]
    release = pd.to_datetime(inmate["release_date"], errors="coerce")
    serving = set(inmate.loc[release.isna() | (release >= as_of), "id_number"])
    people["legal"] = (
        (age >= 16)
        & ~people["id_number"].isin(set(t["death"]["id_number"]))
        & ~people["status"].isin(["死亡", "迁出"])
        & ~people["id_number"].isin(set(t["student"]["id_number"]))
        & ~people["id_number"].isin(serving)
    )
    enr = t["pension_enrollment"]
    employee = enr["scheme"].str.contains("企业职工|机关事业单位")
    insured = set(enr.loc[enr["status"].isin(["参保缴费", "暂停缴费", "待遇领取"]), "id_number"])
    paying = set(enr.loc[enr["status"] == "参保缴费", "id_number"])
    emp_paying = set(enr.loc[(enr["status"] == "参保缴费") & employee, "id_number"])
    legal = people[people["legal"]].copy()
    legal["insured"] = legal["id_number"].isin(insured)
    legal["contributing"] = legal["id_number"].isin(paying)
    legal["employee_contributor"] = legal["id_number"].isin(emp_paying)
    legal["street_code"] = legal["address_code"].str[:9]
    streets = legal.groupby("street_code").agg(
        legal_population=("id_number", "size"),
        insured=("insured", "sum"),
        contributors=("contributing", "sum"),
        employee_contributors=("employee_contributor", "sum"),
    )
    streets["coverage_rate"] = streets["insured"] / streets["legal_population"]
    streets["structure_ratio"] = streets["employee_contributors"] / streets["contributors"]
    city = streets[["legal_population", "insured", "contributors", "employee_contributors"]].sum()
    return {
        "streets": len(streets),
        "legal_population": int(city["legal_population"]),
        "insured": int(city["insured"]),
        "coverage_rate": float(city["insured"] / city["legal_population"]),
        "structure_ratio": float(city["employee_contributors"] / city["contributors"]),
    }


# ---------------------------------------------------------------- page reads


def child_page(page: str, db: str) -> dict:
    """The read functions one dashboard page calls (see pages/), bureau role: its
    first render in a fresh process, then the reads a filter change triggers
    (Streamlit reruns the page: ``status`` again, cached reads not again)."""
    from analytics import reads
    from analytics.access import Scope

    scope = Scope("bureau", None, "bench")

    def first_and_filter(first, change) -> dict:
        t0 = time.perf_counter()
        state = first()
        t1 = time.perf_counter()
        change(state)
        t2 = time.perf_counter()
        return {"first_render": t1 - t0, "filter_change": t2 - t1}

    def status():
        s = reads.status(db)
        return s, s.current_version

    if page == "overview":

        def first():
            s, v = status()
            reads.goals(db, v)
            reads.kpi(db, v, "city")
            reads.kpi_trend(db, "city")
            reads.kpi(db, v, "street")
            return s

        def change(s):  # another as-of date chosen in the sidebar
            status()
            v0 = s.snapshots[-2][0] if len(s.snapshots) > 1 else s.current_version
            reads.goals(db, v0)
            reads.kpi(db, v0, "city")
            reads.kpi(db, v0, "street")

    elif page == "map":

        def first():
            _s, v = status()
            reads.goals(db, v)
            streets = reads.kpi(db, v, "street")
            reads.boundaries(db, "street")
            return v, streets["code"].iloc[0]

        def change(state):  # a street picked
            v, street = state
            status()
            reads.kpi(db, v, "community", street)
            reads.boundaries(db, "community", street)

    elif page == "visits":

        def first():
            _s, v = status()
            reads.areas(db, v)
            rows = reads.targets(db, v, scope)
            reads.filter_targets(rows)
            return rows

        def change(rows):  # target type chosen: filtered in memory
            status()
            reads.filter_targets(rows, target_type="upgrade")

    elif page == "registry":

        def first():
            _s, v = status()
            found = reads.search_persons(db, v, scope, "张")
            if not found.empty:
                reads.person_card(db, v, scope, found["id_number"].iloc[0])
            return v

        def change(v):  # another search
            status()
            found = reads.search_persons(db, v, scope, "王")
            if not found.empty:
                reads.person_card(db, v, scope, found["id_number"].iloc[0])

    elif page == "data_import":

        def first():
            s, _v = status()
            probs = reads.problems(db, scope, s.current_as_of)
            reads.problem_summary(probs[probs["severity"] == "error"])
            reads.quality(db, scope)
            reads.import_log(db, scope)
            reads.export_audit(db, scope)
            return probs

        def change(probs):  # severity switched to warnings: in memory
            status()
            reads.problem_summary(probs[probs["severity"] == "warning"])

    else:
        raise SystemExit(f"unknown page {page}")
    return first_and_filter(first, change)


# ---------------------------------------------------------------- one round


def _score_seconds(stderr: str) -> float | None:
    """The last ``[score]`` debug line of a build: the target date's scoring."""
    hits = re.findall(r"^\[score\] .* ([0-9.]+)s$", stderr, flags=re.MULTILINE)
    return float(hits[-1]) if hits else None


def recurring_base(work: Path) -> Path:
    return work / "recurring-base.duckdb"


def prepare_recurring(demo: Path, work: Path) -> None:
    """Every batch but the newest imported and built: the state before a quarter."""
    base = recurring_base(work)
    for p in (base, Path(f"{base}.wal")):
        p.unlink(missing_ok=True)
    bs = [str(b) for b in batches(demo)]
    kuomian(["import", *bs[:-1], "--db", str(base)], work)
    kuomian(["build", "--db", str(base)], work)


# pandas: the reference reads every file into memory at once; at 10M people it
# would need more than the machine has (the reference stops at 1M).
SKIPPABLE = ("rebuild", "exports", "pages", "recurring", "pandas")


def one_round(demo: Path, work: Path, skip: frozenset[str] = frozenset()) -> dict:
    """Every step once, each a fresh process: {step: {seconds, rss_mib, ...}}.
    ``skip`` leaves out groups of steps (SKIPPABLE; `exports` keeps kpi city,
    which the pandas check needs): for a quick check that the script works."""
    db, db2 = work / "bench.duckdb", work / "recurring.duckdb"
    out: dict[str, dict] = {}

    def keep(step: str, r: dict, **extra) -> dict:
        out[step] = {
            "seconds": r["seconds"],
            "rss_mib": r["rss_mib"],
            "cpu_seconds": r["cpu_seconds"],
            **extra,
        }
        return r

    def fresh(path: Path) -> None:
        for p in (path, Path(f"{path}.wal")):
            p.unlink(missing_ok=True)
        for p in path.parent.glob(f"{path.stem}.app*"):  # the app store beside the DB
            p.unlink() if p.is_file() else shutil.rmtree(p)
        shutil.rmtree(path.parent / f"{path.stem}.registry", ignore_errors=True)  # published

    bs = [str(b) for b in batches(demo)]
    r = me(["--child", "floor", "--demo", str(demo), "--db", str(work / "floor.duckdb")], work)
    keep("floor", r, **json.loads(r["stdout"]))
    fresh(db)
    keep("import", kuomian(["import", *bs, "--db", str(db)], work))
    if "pandas" not in skip:
        r = me(["--child", "pandas", "--demo", str(demo)], work)
        keep("pandas", r, **json.loads(r["stdout"]))
    r = kuomian(["build", "--db", str(db)], work)
    keep("build (first)", r)
    if "rebuild" not in skip:
        r = kuomian(["build", "--db", str(db), "--debug"], work)
        keep("rebuild, nothing changed (--debug)", r)
        score = _score_seconds(r["stderr"])
        out["score (target date, from --debug)"] = {"seconds": score, "rss_mib": None}
    for what, extra in EXPORTS:
        if "exports" in skip and extra != ["--level", "city"]:
            continue
        name = f"export {what}" + (f" {extra[-1]}" if extra else "")
        target = work / f"{name.replace(' ', '_')}.csv"
        keep(name, kuomian(["export", what, "--db", str(db), "--out", str(target), *extra], work))
    city = (work / "export_kpi_city.csv").read_text(encoding="utf-8").splitlines()
    header, row = city[0].split(","), city[1].split(",")
    out["export kpi city"]["coverage_rate"] = float(row[header.index("coverage_rate")])
    for page in [] if "pages" in skip else PAGES:
        r = me(["--child", "page", "--page", page, "--db", str(db)], work)
        t = json.loads(r["stdout"])
        out[f"page {page}: first render"] = {"seconds": t["first_render"], "rss_mib": r["rss_mib"]}
        out[f"page {page}: filter change"] = {"seconds": t["filter_change"], "rss_mib": None}
    if "recurring" not in skip:
        # The recurring quarter: everything but the newest batch is already in
        # (imported and built once, untimed, by prepare_recurring; copied here).
        fresh(db2)
        base = recurring_base(work)
        shutil.copyfile(base, db2)
        # With the versions it published (paths inside are relative): a quarter
        # in a bureau starts with last quarter's snapshot files already written.
        shutil.copytree(base.with_suffix(".registry"), db2.with_suffix(".registry"))
        a = kuomian(["import", bs[-1], "--db", str(db2)], work)
        keep("recurring: import newest batch", a)
        b = keep("recurring: build", kuomian(["build", "--db", str(db2)], work))
        out["recurring quarter (import + build)"] = {
            "seconds": a["seconds"] + b["seconds"],
            "rss_mib": max(a["rss_mib"], b["rss_mib"]),
            "cpu_seconds": a["cpu_seconds"] + b["cpu_seconds"],
        }
    out["sizes"] = {"demo_mib": _size_mib(demo), "db_mib": _size_mib(db)}
    return out


# ---------------------------------------------------------------- the report


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{
            d: version(d)
            for d in ("duckdb", "scikit-learn", "pandas", "pyarrow", "python-calamine")
        },
    }


def summarise(runs: list[dict]) -> dict[str, dict]:
    steps = [k for k in runs[0] if k != "sizes"]
    floor = statistics.median(r["floor"]["seconds"] for r in runs)
    table = {}
    for s in steps:
        secs = [r[s]["seconds"] for r in runs if r[s]["seconds"] is not None]
        rss = [r[s]["rss_mib"] for r in runs if r[s].get("rss_mib") is not None]
        cpu = [r[s]["cpu_seconds"] for r in runs if r[s].get("cpu_seconds") is not None]
        if not secs:
            continue
        med = statistics.median(secs)
        table[s] = {
            "median": med,
            "min": min(secs),
            "max": max(secs),
            "peak_rss_mib": max(rss) if rss else None,
            "cpu_seconds": statistics.median(cpu) if cpu else None,
            "ratio_to_floor": med / floor if floor else None,
        }
    return table


def _fmt(v: float) -> str:
    return f"{v:.3f}" if v < 1 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def print_table(result: dict) -> None:
    t = result["table"]
    m = result["machine"]
    print(
        f"\n{result['persons']:,} persons, medians of {result['runs']} interleaved runs; "
        f"{m['cores']} cores, {m['memory_gib']} GiB, {m['cpu_model']}; Python {m['python']}, "
        f"DuckDB {m['duckdb']}, scikit-learn {m['scikit-learn']}; {result['date']}\n"
    )
    print("| step | median s | min | max | CPU s | peak RSS MiB | ÷ floor |")
    print("|---|---|---|---|---|---|---|")
    for step, v in t.items():
        rss = f"{v['peak_rss_mib']:,.0f}" if v["peak_rss_mib"] is not None else "–"
        cpu = _fmt(v["cpu_seconds"]) if v.get("cpu_seconds") is not None else "–"
        print(
            f"| {step} | {_fmt(v['median'])} | {_fmt(v['min'])} | {_fmt(v['max'])} | {cpu} | "
            f"{rss} | {v['ratio_to_floor']:.2f}× |"
        )
    d = result["derived"]
    to_pandas = d["import_plus_build_to_pandas"]
    print(
        f"\nimport + first build {_fmt(d['import_plus_build'])} s = "
        f"{d['import_plus_build_to_floor']:.1f}× the floor"
        + (f", {to_pandas:.1f}× pandas" if to_pandas is not None else "")
        + f"; import {d['import_to_floor']:.1f}× the floor."
    )
    c = result["check"]
    if c["ok"] is not None:
        print(
            f"pandas city coverage {c['pandas_coverage_rate']:.5f} vs export "
            f"{c['export_coverage_rate']:.5f} (|Δ| {c['abs_diff']:.5f}, tolerance "
            f"{c['tolerance']}): {'ok' if c['ok'] else 'OUTSIDE TOLERANCE'}"
        )
    s = result["sizes"]
    print(
        f"{result['floor_rows']:,} rows in {result['floor_files']} files; demo files "
        f"{s['demo_mib']:.0f} MiB, database {s['db_mib']:.0f} MiB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "run")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--skip",
        default="",
        help=f"comma-separated step groups to leave out: {','.join(SKIPPABLE)} (for a quick check)",
    )
    # Internal: the references and the page reads run as children of this script.
    ap.add_argument("--child", choices=["floor", "pandas", "page"], help=argparse.SUPPRESS)
    ap.add_argument("--demo", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--page", choices=PAGES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "floor":
        print(json.dumps(child_floor(args.demo, Path(args.db))))
        return
    if args.child == "pandas":
        print(json.dumps(child_pandas(args.demo)))
        return
    if args.child == "page":
        print(json.dumps(child_page(args.page, args.db)))
        return

    skip = frozenset(s for s in args.skip.split(",") if s)
    if skip - set(SKIPPABLE):
        ap.error(f"--skip takes {','.join(SKIPPABLE)}")
    work = args.work.resolve() / f"n{args.persons}-seed{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    demo, demo_seconds = ensure_demo(args.work.resolve(), args.persons, args.seed)
    if "recurring" not in skip:
        prepare_recurring(demo, work)
    runs: list[dict] = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        runs.append(one_round(demo, work, skip))
        print(f"round {i + 1}/{args.runs}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        result = result_of(args, skip, demo_seconds, runs)
        if args.json:  # after every round: a long run interrupted keeps what it measured
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    print_table(result)


def result_of(args: argparse.Namespace, skip: frozenset[str], demo_seconds, runs) -> dict:
    table = summarise(runs)
    med = {k: v["median"] for k, v in table.items()}
    ib = statistics.median(r["import"]["seconds"] + r["build (first)"]["seconds"] for r in runs)
    with_pandas = "pandas" not in skip
    pandas_cov = (
        statistics.median(r["pandas"]["coverage_rate"] for r in runs) if with_pandas else None
    )
    export_cov = runs[-1]["export kpi city"]["coverage_rate"]
    return {
        "persons": args.persons,
        "seed": args.seed,
        "runs": len(runs),
        "runs_asked": args.runs,
        "skipped": sorted(skip),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "demo_seconds": demo_seconds,
        "floor_files": runs[-1]["floor"]["files"],
        "floor_rows": runs[-1]["floor"]["rows"],
        "sizes": runs[-1]["sizes"],
        "table": table,
        "derived": {
            "import_plus_build": ib,
            "import_plus_build_to_floor": ib / med["floor"],
            "import_plus_build_to_pandas": ib / med["pandas"] if with_pandas else None,
            "import_to_floor": med["import"] / med["floor"],
            "pandas_to_floor": med["pandas"] / med["floor"] if with_pandas else None,
        },
        "check": {
            "pandas_coverage_rate": pandas_cov,
            "export_coverage_rate": export_cov,
            "abs_diff": abs(pandas_cov - export_cov) if with_pandas else None,
            "tolerance": COVERAGE_TOLERANCE,
            "ok": abs(pandas_cov - export_cov) <= COVERAGE_TOLERANCE if with_pandas else None,
        },
        "raw": runs,
    }


if __name__ == "__main__":
    main()
