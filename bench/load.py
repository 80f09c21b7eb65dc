"""A bounded load test of the dashboard on localhost (issue "Keep serving", deliverable 6).

    python bench/load.py [--persons 30000] [--sessions 20] [--seconds 30] [--think 0]
                         [--region DIR] [--work DIR] [--seed S] [--json OUT]

Prepares the demo region (``kuomian demo``, or the one in ``--region``), imports
every batch but the newest and builds (once per work dir; each run starts from
a copy of that database), creates one bureau account per session in the copy's
app store (:mod:`analytics.accounts`, argon2 with its production parameters;
the initial password already changed, as its owner would at first login),
starts a real Streamlit server on a free localhost port and drives
``--sessions`` concurrent sessions through Streamlit's own websocket protocol:
each session is a websocket client of ``/_stcore/stream`` that sends
``BackMsg.rerun_script`` (the page's script hash and the widget states) and
reads ``ForwardMsg``\\s until ``script_finished``, timing the run. Each session
first logs in through the login form as a browser does (see
:meth:`Session.login`), then browses every page in turn (with ``--think``
seconds between pages; none by default, so the sessions ask as fast as the
server answers), through three phases:

- **before**: no writer, ``--seconds`` long;
- **during**: ``kuomian import`` of the newest batch, then ``kuomian build``,
  each a command-line process; the sessions keep browsing until both finish;
- **after**: ``--seconds`` long again.

An error is an exception element or an error alert (``st.error``) in a run's
deltas, a ``script_finished`` other than success, a script compilation event, a
run that takes longer than ``--timeout``, or a dropped connection (the session
then reconnects, to its own server session as the browser does, and logs in
again if that session is gone). So is a run that did not show what was asked:
a login form without its two inputs and button, a login that does not end on
the overview with the bureau's five pages in the navigation, a page run whose
navigation lacks them, another page's title, or a registry search for 张 that
lists nobody. A writer that exits non-zero is an error too.

No mixed-version reads: each page run records what it shows of the registry
(the sidebar's date list and chosen date; on the overview its headline numbers,
the trend's dates and its last value, and the street table; on the map its
street table; on the import page the dates of the quality table and of the
import log), and after the run each is matched against one version: the
published version before the build (the old date list, and ``kuomian export
kpi`` of the old date, city and street level) or after it (the new list and
the exports of the new date). A run that matches neither, or whose parts
match different ones, is a mixed read. Exports of the old date are taken
before and after the build, and must agree.

Prints a table of page runs, errors and p50/p95 page times (ms) per phase and
page; ``--json`` writes it with every error, the versions each phase saw, the
writers' times, the CPU the server and the client used in each phase, every
run's time and version, and the machine. Exits non-zero on any error or mixed read.
Nothing here asserts a time. ``websockets`` (a dependency of the app's server,
uvicorn) is the websocket client: Streamlit 1.67 serves on Starlette, and
tornado is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/load.py` from the project folder
    sys.path.insert(0, str(ROOT))

from analytics import accounts, store

PAGES = ["overview", "map", "visits", "registry", "data_import"]
# The login form (pages/_session.py login_page): two keyed text inputs in the
# form "login_form" and its submit button. A keyed widget's id ends "-<key>".
LOGIN_NAME, LOGIN_PASSWORD, LOGIN_FORM, LOGIN_BUTTON = (
    "login_name",
    "login_password",
    "login_form",
    "登录",
)
ROLE = "bureau"  # the role that sees every page but the administrator's
QUERY_LABEL, QUERY = "身份证号或姓名", "张"  # the registry page's search box
# Each page's title: a run that shows another page (its hash refused) is an error.
TITLES = {
    "overview": "扩面增效总览",
    "map": "扩面地图",
    "visits": "走访清单",
    "registry": "实名库查询",
    "data_import": "数据导入与数据质量",
}
DATE_LABEL = "数据日期"  # the sidebar's registry date
CN_DATE = re.compile(r"(\d{4})年(\d{2})月(\d{2})日")
SUCCESS = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN  # st.rerun()
ERROR_ALERT = 1  # Alert.Format.ERROR

# ---------------------------------------------------------------- children


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    env.update(extra)
    return env


def kuomian(*args: object) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "analytics.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kuomian {' '.join(map(str, args))}: {done.stderr.strip()}")
    return done


def batches(region: Path) -> list[Path]:
    """The demo's batch folders, oldest first (their names are the as-of dates)."""
    found = sorted(
        p for p in region.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name)
    )
    if len(found) < 2:
        raise SystemExit(f"{region}: needs at least two batch folders, found {len(found)}")
    return found


def prepare(work: Path, persons: int, seed: int, region: Path | None) -> tuple[Path, Path]:
    """A fresh database with every batch but the newest imported and built (a copy
    of the one prepared once per work dir), and the newest batch's folder."""
    if region is None:
        region = work / f"demo-{persons}-seed{seed}"
        if not (region / ".load-done").exists():
            shutil.rmtree(region, ignore_errors=True)
            print(f"demo region of {persons:,} persons -> {region}", file=sys.stderr)
            kuomian("demo", "--out", region, "--persons", persons, "--seed", seed)
            (region / ".load-done").write_text("ok\n", encoding="ascii")
    found = batches(region)
    base = work / f"base-{region.resolve().name}"
    if not (base / ".load-done").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        print(f"import {len(found) - 1} batches and build -> {base}", file=sys.stderr)
        kuomian("import", *found[:-1], "--db", base / "kuomian.duckdb")
        kuomian("build", "--db", base / "kuomian.duckdb")
        (base / ".load-done").write_text("ok\n", encoding="ascii")
    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(base, run)
    (run / ".load-done").unlink()
    return run / "kuomian.duckdb", found[-1]


def make_accounts(db: Path, sessions: int) -> tuple[list[tuple[str, str]], float]:
    """One bureau account per session, ``(name, password)``, and the seconds taken.

    Made as the operator and the owner would (``kuomian user add``, then the
    forced change at first login): :func:`analytics.accounts.add_user` with an
    initial password, then :func:`~analytics.accounts.change_password` to the one
    the session logs in with, so the login lands on the pages, not on the
    password form. The hasher is argon2's default, the production one: the
    server verifies each login with it too."""
    t0 = time.monotonic()
    made = []
    for i in range(sessions):
        name = f"load{i:02d}"
        first, password = (f"{w}{secrets.token_hex(6)}a1" for w in ("first", "load"))
        accounts.add_user(db, name, ROLE, first)
        account = accounts.change_password(db, name, first, password)
        if account.role != ROLE or account.must_change_password:
            raise SystemExit(f"account {name}: {account}")
        made.append((name, password))
    return made, time.monotonic() - t0


def kpi_export(db: Path, level: str, as_of: str, out: Path) -> dict[str, dict[str, str]]:
    """``kuomian export kpi`` of one date: code -> row (text as written)."""
    path = out / f"kpi-{level}-{as_of}.csv"
    kuomian("export", "kpi", "--db", db, "--level", level, "--as-of", as_of, "--out", path)
    with path.open(encoding="utf-8", newline="") as f:
        return {r["code"].lstrip("'"): r for r in csv.DictReader(f)}


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen:
    """``streamlit run app.py`` with the Makefile's flags, on localhost."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=_env(KUOMIAN_DB=str(db)),
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"streamlit exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"streamlit did not answer on port {port} within 120 s; see {log}")


# ---------------------------------------------------------------- one page run


def _arrow(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


@dataclass
class Run:
    """One page run as a browser would see it: its time, errors and what it shows
    of the registry (``facts``, checked against the versions afterwards)."""

    session: int
    page: str
    phase: str
    t0: float
    ms: float = 0.0
    errors: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def read_facts(page: str, elements: list, run: Run) -> None:
    """What the run shows of the registry: the sidebar's dates on every page; the
    overview's headline, trend and street table; the map's street table; the
    import page's quality and import-log dates."""
    f = run.facts
    tables: list[pa.Table] = []
    for el in elements:
        kind = el.WhichOneof("type")
        if kind == "selectbox" and el.selectbox.label == DATE_LABEL:
            options = [_iso(o) for o in el.selectbox.options]
            f["dates"] = options
            f["date"] = options[el.selectbox.default]
        elif kind == "markdown" and page == "overview" and "应参保人口" in el.markdown.body:
            body = el.markdown.body
            m = CN_DATE.search(body)
            f["shown_date"] = f"{m[1]}-{m[2]}-{m[3]}" if m else None
            nums = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) 人", body)]
            f["headline"] = nums[:3]  # legal population, insured, contributors
        elif kind == "markdown" and page == "registry" and el.markdown.body.startswith("找到"):
            f["found"] = int(re.search(r"\d+", el.markdown.body)[0])
        elif kind == "metric" and page == "overview" and el.metric.label in ("参保率", "结构比"):
            f[el.metric.label] = el.metric.body
        elif (
            kind == "plotly_chart"
            and el.plotly_chart.id
            and "trend_coverage_rate" in (el.plotly_chart.id)
        ):
            trace = json.loads(el.plotly_chart.spec)["data"][0]
            f["trend_dates"] = [str(x) for x in _plotly_array(trace["x"])]
            ys = _plotly_array(trace["y"])
            f["trend_last"] = float(ys[-1]) if len(ys) else None
        elif kind == "dataframe":
            tables.append(_arrow(el.dataframe.arrow_data.data))
    for t in tables:
        cols = t.column_names
        if page == "overview" and "街道/镇" in cols and "应参保人口" in cols:
            f["streets"] = dict(
                zip(map(str, t["街道/镇"].to_pylist()), t["应参保人口"].to_pylist())
            )
        elif page == "map" and "代码" in cols and "应参保人口" in cols:
            f["streets"] = dict(zip(map(str, t["代码"].to_pylist()), t["应参保人口"].to_pylist()))
        elif page == "data_import" and "部门数据" in cols and any(" 读取" in c for c in cols):
            f["quality_dates"] = sorted({c.split(" ")[0] for c in cols if c.endswith(" 读取")})
        elif page == "data_import" and "as_of" in cols and "batch" in cols:
            f["log_dates"] = sorted({str(d)[:10] for d in t["as_of"].to_pylist()})


def _plotly_array(value: object) -> list:
    """A trace's array: plotly.py writes numeric arrays as ``{"dtype", "bdata"}``
    (base64 of the raw buffer), other arrays as JSON lists."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def _iso(text: str) -> str:
    m = CN_DATE.search(text)
    return f"{m[1]}-{m[2]}-{m[3]}" if m else text


class Session:
    """One browser tab: a websocket to ``/_stcore/stream``, logged in with its own
    account, and the widget states it sends with every rerun (the registry
    page's search box, once drawn).

    A widget's id includes the script hash of the page being run
    (``compute_and_register_element_id``), so no id is computed here: as the
    browser does, the client reads them from each run's deltas (the login
    form's inputs and button, the search box) and sends back the values of the
    widgets the previous runs drew. The login itself lives in the server's
    session state (pages/_session.py), so it holds for every page afterwards."""

    def __init__(self, number: int, port: int, timeout: float, name: str, password: str) -> None:
        self.number, self.port, self.timeout = number, port, timeout
        self.name, self.password = name, password
        self.ws = None
        self.widgets: dict[str, str] = {}  # widget id -> string value
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.session_id: str | None = None  # the server's, from new_session
        # The login form's widget ids if the last run drew it (logged out), else None.
        self.login_form: dict[str, str] | None = None

    async def connect(self) -> None:
        # A browser that reconnects names its server session in the subprotocol
        # header (third entry, after the XSRF token's place): the session, and the
        # login in its state, carry on if the server still has it.
        protocols = ["streamlit"]
        if self.session_id:
            protocols += ["PLACEHOLDER_AUTH_TOKEN", self.session_id]
        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}/_stcore/stream",
            subprotocols=protocols,
            max_size=None,
            open_timeout=self.timeout,
            # A browser sends no websocket pings; ours would time out while the
            # server is busy and count as a dropped connection of the app's.
            ping_interval=None,
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(
        self, page: str, phase: str, submit: list[WidgetState] | None = None
    ) -> tuple[Run, list]:
        """Rerun the script on ``page`` ("" the default, before the login), with
        ``submit``'s widget states added (a form submission); the run and the
        elements of its last script run (a login's ``st.rerun()`` starts another)."""
        run = Run(self.number, page or "login", phase, time.monotonic())
        # A login lands on the default page; a run of the login form shows no page.
        shows = page or ("overview" if submit else "")
        nav: list[str] = []
        searched = QUERY in self.widgets.values()  # the search box's value is sent
        msg = BackMsg()
        msg.rerun_script.page_script_hash = self.pages.get(page or "login", "")
        for wid, value in self.widgets.items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id, state.string_value = wid, value
        msg.rerun_script.widget_states.widgets.extend(submit or [])
        elements: list = []
        forms: set[str] = set()
        started = False  # messages before this run's new_session are a late earlier run's
        try:
            await self.ws.send(msg.SerializeToString())
            async with asyncio.timeout(self.timeout):
                while True:
                    fwd = ForwardMsg()
                    fwd.ParseFromString(await self.ws.recv())
                    kind = fwd.WhichOneof("type")
                    if kind == "new_session":
                        started = True
                        self.session_id = fwd.new_session.initialize.session_id or self.session_id
                    elif not started:
                        continue
                    elif kind == "delta" and fwd.delta.WhichOneof("type") == "add_block":
                        if fwd.delta.add_block.WhichOneof("type") == "form":
                            forms.add(fwd.delta.add_block.form.form_id)
                    elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                        el = fwd.delta.new_element
                        elements.append(el)
                        if el.WhichOneof("type") == "exception":
                            run.errors.append(
                                f"exception {el.exception.type}: {el.exception.message}"
                            )
                        elif el.WhichOneof("type") == "alert" and el.alert.format == ERROR_ALERT:
                            run.errors.append(f"st.error: {el.alert.body}")
                    elif kind == "navigation":
                        nav = [p.url_pathname or "overview" for p in fwd.navigation.app_pages]
                        self.pages = {
                            p.url_pathname or "overview": p.page_script_hash
                            for p in fwd.navigation.app_pages
                        }
                    elif kind == "page_not_found":
                        run.errors.append(f"page not found: {fwd.page_not_found.page_name}")
                    elif kind == "session_event" and fwd.session_event.HasField(
                        "script_compilation_exception"
                    ):
                        exc = fwd.session_event.script_compilation_exception
                        run.errors.append(f"compilation error {exc.type}: {exc.message}")
                    elif kind == "script_finished":
                        if fwd.script_finished == RERUN:  # st.rerun(): its run follows
                            elements, forms, started = [], set(), False
                            continue
                        if fwd.script_finished != SUCCESS:
                            name = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                            run.errors.append(f"script finished: {name}")
                        break
        except TimeoutError:
            run.errors.append(f"no script_finished within {self.timeout:.0f} s")
            await self._reconnect(run)
        except websockets.ConnectionClosed as exc:
            run.errors.append(f"connection dropped: {exc}")
            await self._reconnect(run)
        run.ms = (time.monotonic() - run.t0) * 1000
        for el in elements:
            if el.WhichOneof("type") == "text_input" and el.text_input.label == QUERY_LABEL:
                self.widgets[el.text_input.id] = QUERY
        self.login_form = login_form(elements, forms)
        if self.login_form and "error" in self.login_form:
            run.errors.append(self.login_form.pop("error"))
        if shows and not run.errors:
            titles = [el.heading.body for el in elements if el.WhichOneof("type") == "heading"]
            if sorted(nav) != sorted(PAGES):
                run.errors.append(f"navigation lists {nav}, not the bureau's pages")
            elif not titles or TITLES[shows] not in titles[0]:
                run.errors.append(f"asked for {shows}, shown {titles[:1]}")
            read_facts(shows, elements, run)
            if shows == "registry" and searched and "found" not in run.facts:
                run.errors.append(f"the registry search for {QUERY!r} found nobody")
        return run, elements

    async def _reconnect(self, run: Run) -> None:
        try:
            await self.close()
            await self.connect()
        except (OSError, websockets.WebSocketException) as exc:
            run.errors.append(f"reconnect failed: {exc}")

    async def login(self, phase: str) -> list[Run]:
        """Log in through the form, as the browser submits it: a first run draws
        the form (unless the last run did); then one rerun whose widget states
        hold the name and the password under the two text inputs' ids and the
        submit button's ``trigger_value`` (the frontend's ``submitForm``: the
        form's values are sent with the button's trigger, in one message). The
        app verifies the password and calls ``st.rerun()``: the run ends on the
        overview, whose navigation must list the bureau's five pages. A session's
        first login then opens the registry page twice (the first draws the
        search box, whose id the second sends with 张)."""
        runs = []
        if self.login_form is None:
            runs.append((await self.run("", phase))[0])
            if self.login_form is None:
                if not runs[-1].errors:
                    runs[-1].errors.append("the login form did not show")
                return runs
        form = self.login_form
        submit = [
            WidgetState(id=form["name"], string_value=self.name),
            WidgetState(id=form["password"], string_value=self.password),
            WidgetState(id=form["button"], trigger_value=True),
        ]
        runs.append((await self.run("", phase, submit))[0])
        if self.login_form is not None and not runs[-1].errors:
            runs[-1].errors.append(f"{self.name}: still on the login form after submitting it")
        if runs[-1].errors or QUERY in self.widgets.values():
            return runs
        for _ in range(2):  # first draws the search box, then searches
            runs.append((await self.run("registry", phase))[0])
        return runs


def login_form(elements: list, forms: set[str]) -> dict[str, str] | None:
    """The login form's widget ids (``name``, ``password``, ``button``, ``form``)
    if the run drew it, else None; with ``error`` if it is drawn incomplete.

    The two text inputs are found by their keys (a keyed widget's id ends in
    ``-<key>``), the button as the submitter of their form, labelled 登录."""
    inputs = {}
    for el in elements:
        if el.WhichOneof("type") == "text_input":
            for key in (LOGIN_NAME, LOGIN_PASSWORD):
                if el.text_input.id.endswith(f"-{key}"):
                    inputs[key] = el.text_input
    if not inputs:
        return None
    form_ids = {t.form_id for t in inputs.values()}
    buttons = [
        el.button.id
        for el in elements
        if el.WhichOneof("type") == "button"
        and el.button.is_form_submitter
        and el.button.form_id in form_ids
        and el.button.label == LOGIN_BUTTON
    ]
    found = {
        "form": next(iter(form_ids)),
        "name": inputs[LOGIN_NAME].id if LOGIN_NAME in inputs else "",
        "password": inputs[LOGIN_PASSWORD].id if LOGIN_PASSWORD in inputs else "",
        "button": buttons[0] if buttons else "",
    }
    if (
        len(form_ids) != 1
        or found["form"] not in forms
        or LOGIN_FORM not in found["form"]
        or not all(found.values())
        or len(buttons) != 1
    ):
        found["error"] = (
            f"login form incomplete: forms {sorted(forms)}, inputs "
            f"{ {k: (t.id, t.form_id) for k, t in inputs.items()} }, submit buttons {buttons}"
        )
    return found


# ---------------------------------------------------------------- the phases


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Clock:
    """The phase the sessions are in, whether to stop, and when each phase began
    with the CPU seconds the server and this client had used by then (to tell
    whether the client competed with the server for the 2 cores)."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.phase = "warmup"
        self.stop = False
        self.marks: dict[str, tuple[float, float, float]] = {}

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.marks[phase] = (time.monotonic(), cpu_seconds(self.server_pid), time.process_time())

    def phases(self) -> dict[str, dict[str, float]]:
        out = {}
        for p, n in (("before", "during"), ("during", "after"), ("after", "end")):
            (t0, s0, c0), (t1, s1, c1) = self.marks[p], self.marks[n]
            out[p] = {
                "seconds": round(t1 - t0, 1),
                "server_cores": round((s1 - s0) / (t1 - t0), 2),
                "client_cores": round((c1 - c0) / (t1 - t0), 2),
            }
        return out


async def browse(
    session: Session, clock: Clock, runs: list[Run], ready: asyncio.Event, think: float
) -> None:
    await session.connect()
    runs.extend(await session.login("warmup"))
    for page in PAGES:  # one warm visit of each page: the cache is shared, filled once
        runs.append((await session.run(page, "warmup"))[0])
    ready.set()
    while clock.phase == "warmup":
        await asyncio.sleep(0.05)
    i = session.number  # sessions start on different pages
    while not clock.stop:
        runs.append((await session.run(PAGES[i % len(PAGES)], clock.phase))[0])
        i += 1
        if session.login_form is not None:  # logged out (a new server session): log in
            runs.extend(await session.login(clock.phase))
        if think:
            await asyncio.sleep(think)
    await session.close()


async def writer(args: list[str], log: Path) -> dict:
    t0 = time.monotonic()
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "analytics.cli", *args, stdout=out, stderr=out, env=_env()
        )
        code = await proc.wait()
    return {"command": args[0], "seconds": round(time.monotonic() - t0, 2), "exit": code}


async def drive(
    server: subprocess.Popen,
    port: int,
    args: argparse.Namespace,
    db: Path,
    newest: Path,
    logins: list[tuple[str, str]],
) -> tuple[list[Run], list[dict], Clock]:
    sessions, seconds, work = args.sessions, args.seconds, args.work / "run"
    clock = Clock(server.pid)
    runs: list[Run] = []
    readies = [asyncio.Event() for _ in range(sessions)]
    tasks = [
        asyncio.create_task(
            browse(Session(i, port, args.timeout, *logins[i]), clock, runs, readies[i], args.think)
        )
        for i in range(sessions)
    ]
    for ready, task in zip(readies, tasks):
        await asyncio.wait([asyncio.create_task(ready.wait()), task], return_when="FIRST_COMPLETED")
    clock.enter("before")
    await asyncio.sleep(seconds)
    clock.enter("during")
    writers = [await writer(["import", str(newest), "--db", str(db)], work / "import.log")]
    if writers[-1]["exit"] == 0:
        writers.append(await writer(["build", "--db", str(db)], work / "build.log"))
    clock.enter("after")
    await asyncio.sleep(seconds)
    clock.stop = True
    clock.enter("end")
    for task in tasks:
        try:
            await task
        except Exception as exc:  # noqa: BLE001 - a session that died is an error, with its cause
            runs.append(Run(-1, "session", clock.phase, time.monotonic(), errors=[repr(exc)]))
    return runs, writers, clock


# ---------------------------------------------------------------- mixed versions


@dataclass
class Version:
    name: str
    dates: list[str]
    city: dict[str, str]  # the export's city row of the newest date
    streets: dict[str, dict[str, str]]  # code -> the export's street row

    def matches(self, page: str, facts: dict) -> list[str]:
        """What in ``facts`` does not match this version (empty: all of it does)."""
        bad = []
        if "dates" in facts and facts["dates"] != self.dates:
            bad.append(f"sidebar dates end {facts['dates'][-1:]}")
        if "date" in facts and facts["date"] != self.dates[-1]:
            bad.append(f"sidebar date {facts['date']}")
        if page == "overview":
            city = self.city
            want = [int(city[k]) for k in ("legal_population", "insured", "contributors")]
            if facts.get("shown_date") != self.dates[-1]:
                bad.append(f"headline date {facts.get('shown_date')}")
            if facts.get("headline") != want:
                bad.append(f"headline {facts.get('headline')} != {want}")
            if facts.get("参保率") != f"{float(city['coverage_rate']):.2%}":
                bad.append(f"参保率 {facts.get('参保率')}")
            if facts.get("结构比") != f"{float(city['structure_ratio']):.2%}":
                bad.append(f"结构比 {facts.get('结构比')}")
            if facts.get("trend_dates") != self.dates:
                bad.append(f"trend dates end {(facts.get('trend_dates') or [])[-1:]}")
            last = facts.get("trend_last")
            if last is None or abs(last - float(city["coverage_rate"])) > 1e-9:
                bad.append(f"trend last {last}")
            # The ranking lists the streets with a coverage rate, by name (code if none).
            want = {
                (r["name"].lstrip("'") or code): int(r["legal_population"])
                for code, r in self.streets.items()
                if r["coverage_rate"] != ""
            }
            if facts.get("streets") != want:
                bad.append("street table")
        if page == "map":
            want = {code: int(r["legal_population"]) for code, r in self.streets.items()}
            if facts.get("streets") != want:
                bad.append("street table")
        return bad


def judge(runs: list[Run], versions: list[Version]) -> None:
    """Tag each run with the one version all it shows belongs to, or as mixed."""
    for run in runs:
        if run.page not in PAGES or run.errors:
            continue
        fits = {v.name: v.matches(run.page, run.facts) for v in versions}
        whole = [name for name, bad in fits.items() if not bad]
        if run.page == "data_import" and run.facts.get("quality_dates") != run.facts.get(
            "log_dates"
        ):
            whole = []
            fits["catalog"] = [
                f"quality dates {run.facts.get('quality_dates')} "
                + f"!= import log dates {run.facts.get('log_dates')}"
            ]
        run.facts["version"] = whole[0] if whole else "mixed"
        if not whole:
            run.facts["mismatch"] = fits


# ---------------------------------------------------------------- the report


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def summarise(runs: list[Run]) -> dict[str, dict[str, dict]]:
    table: dict[str, dict[str, dict]] = {}
    for phase in ("warmup", "before", "during", "after"):
        mine = [r for r in runs if r.phase == phase]
        for page in ["login", *PAGES, "all"]:
            sel = [r for r in mine if page == "all" or r.page == page]
            if not sel:
                continue
            ms = [r.ms for r in sel]
            seen: dict[str, int] = {}
            for r in sel:
                v = r.facts.get("version")
                if v:
                    seen[v] = seen.get(v, 0) + 1
            table.setdefault(phase, {})[page] = {
                "runs": len(sel),
                "errors": sum(bool(r.errors) for r in sel),
                "mixed": seen.get("mixed", 0),
                "p50_ms": round(percentile(ms, 50), 1),
                "p95_ms": round(percentile(ms, 95), 1),
                "max_ms": round(max(ms), 1),
                "versions": seen,
            }
    return table


def machine() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{d: importlib.metadata.version(d) for d in ("streamlit", "duckdb", "websockets")},
    }


def print_table(result: dict) -> None:
    m = result["machine"]
    print(
        f"\n{result['persons']:,} persons, {result['sessions']} sessions, "
        f"{result['seconds']:.0f} s before and after, {result['think_seconds']:g} s between pages; "
        f"{m['cores']} cores, {m['memory_gib']} GiB; "
        f"load average {result['loadavg_start'][0]:.1f} at the start, "
        f"{result['loadavg_end'][0]:.1f} at the end"
    )
    for w in result["writers"]:
        print(f"during: kuomian {w['command']} {w['seconds']:.1f} s, exit {w['exit']}")
    for phase, c in result["phases"].items():
        print(
            f"{phase}: {c['seconds']:.0f} s; CPU cores used by the server "
            f"{c['server_cores']:.2f}, by this client {c['client_cores']:.2f}"
        )
    print(
        "\n| phase | page | page runs | errors | mixed | p50 ms | p95 ms | max ms | versions seen |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for phase, pages in result["table"].items():
        for page, s in pages.items():
            seen = ", ".join(f"{k} {v}" for k, v in sorted(s["versions"].items())) or "–"
            name = f"**{page}**" if page == "all" else page
            print(
                f"| {phase} | {name} | {s['runs']} | {s['errors']} | {s['mixed']} | "
                f"{s['p50_ms']:.0f} | {s['p95_ms']:.0f} | {s['max_ms']:.0f} | {seen} |"
            )
    for e in result["errors"][:20]:
        print(f"error: session {e['session']} {e['phase']} {e['page']}: {'; '.join(e['errors'])}")
    for e in result["mixed"][:20]:
        print(f"mixed: session {e['session']} {e['phase']} {e['page']}: {e['mismatch']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=30_000)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of before and of after")
    ap.add_argument("--timeout", type=float, default=120.0, help="longest page run (s)")
    ap.add_argument("--think", type=float, default=0.0, help="pause between a session's pages (s)")
    ap.add_argument("--region", type=Path, default=None, help="a demo region to reuse")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "load")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    db, newest = prepare(args.work, args.persons, args.seed, args.region)
    exports = args.work / "run" / "exports"
    exports.mkdir()
    old_dates = [d.name for d in batches(newest.parent)[:-1]]
    old_before = (
        kpi_export(db, "city", old_dates[-1], exports / "before"),
        kpi_export(db, "street", old_dates[-1], exports / "before"),
    )
    logins, accounts_seconds = make_accounts(db, args.sessions)
    print(
        f"{len(logins)} bureau accounts in {accounts_seconds:.1f} s -> {store.app_db(db)}",
        file=sys.stderr,
    )
    port = free_port()
    server = start_server(db, port, args.work / "run" / "streamlit.log")
    load_start = os.getloadavg()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:
        runs, writers, clock = asyncio.run(drive(server, port, args, db, newest, logins))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    load_end = os.getloadavg()

    new_date = newest.name
    (exports / "after").mkdir()
    old_after = (
        kpi_export(db, "city", old_dates[-1], exports / "after"),
        kpi_export(db, "street", old_dates[-1], exports / "after"),
    )
    new = (
        kpi_export(db, "city", new_date, exports / "after"),
        kpi_export(db, "street", new_date, exports / "after"),
    )
    (city_old,) = old_before[0].values()
    (city_new,) = new[0].values()
    versions = [
        Version("old", old_dates, city_old, old_before[1]),
        Version("new", [*old_dates, new_date], city_new, new[1]),
    ]
    judge(runs, versions)

    errors = [r for r in runs if r.errors]
    for w in writers:
        if w["exit"] != 0:
            errors.append(
                Run(-1, f"kuomian {w['command']}", "during", 0.0, errors=[f"exit {w['exit']}"])
            )
    mixed = [r for r in runs if r.facts.get("version") == "mixed"]
    result = {
        "persons": args.persons,
        "sessions": args.sessions,
        "seconds": args.seconds,
        "started": started,
        "machine": machine(),
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "writers": writers,
        "think_seconds": args.think,
        "accounts": {
            "count": len(logins),
            "role": ROLE,
            "seconds_to_create": round(accounts_seconds, 1),
            "argon2": {
                k: getattr(accounts.hasher, k) for k in ("time_cost", "memory_cost", "parallelism")
            },
        },
        "phases": clock.phases(),
        "old_date_export_unchanged": old_before == old_after,
        "old_date": old_dates[-1],
        "new_date": new_date,
        "table": summarise(runs),
        "errors": [
            {"session": r.session, "phase": r.phase, "page": r.page, "errors": r.errors}
            for r in errors
        ],
        "runs": [
            {
                "session": r.session,
                "phase": r.phase,
                "page": r.page,
                "start_s": round(r.t0 - clock.marks["before"][0], 3),
                "ms": round(r.ms, 1),
                "errors": len(r.errors),
                "version": r.facts.get("version"),
            }
            for r in runs
        ],
        "mixed": [
            {
                "session": r.session,
                "phase": r.phase,
                "page": r.page,
                "mismatch": r.facts["mismatch"],
            }
            for r in mixed
        ],
    }
    print_table(result)
    if not result["old_date_export_unchanged"]:
        print(f"the export of {old_dates[-1]} changed with the build", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if errors or mixed or not result["old_date_export_unchanged"] else 0


if __name__ == "__main__":
    sys.exit(main())
