"""Page timings of the dashboard on a built database (server side, AppTest).

    KUOMIAN_DB=... python bench/app.py [--runs 5]

For each page: the first run in a fresh process-wide cache (cold: reads from
DuckDB), the next runs (warm: cached on the registry version), and on the visit
list a filter change. Medians of ``--runs`` repetitions, in milliseconds. The
browser adds its drawing time on top; the end-to-end test shows it is small.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit as st
from streamlit.testing.v1 import AppTest

from analytics import accounts

PAGES = [
    "pages/overview.py",
    "pages/map.py",
    "pages/visits.py",
    "pages/registry.py",
    "pages/assessment.py",
    "pages/plan.py",
    "pages/lists.py",
    "pages/data_import.py",
]


# The benchmark's own bureau account (created once in the database measured).
BENCH_USER, FIRST_PASSWORD, PASSWORD = "bench_bureau", "bench-first-2025", "bench-pass-2025"


def _account(db: str) -> None:
    if accounts.get_user(db, BENCH_USER) is None:
        accounts.add_user(db, BENCH_USER, "bureau", FIRST_PASSWORD)
        accounts.change_password(db, BENCH_USER, FIRST_PASSWORD, PASSWORD)


def _login(at: AppTest) -> AppTest:
    at.run()
    at.text_input(key="login_name").input(BENCH_USER)
    at.text_input(key="login_password").input(PASSWORD)
    return at.button(key="FormSubmitter:login_form-登录").click().run()


def _timed(fn) -> float:
    t0 = time.perf_counter()
    at = fn()
    ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise RuntimeError([e.message for e in at.exception])
    return ms


def measure(runs: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, list[float]]] = {}
    for _ in range(runs):
        st.cache_data.clear()
        at = _login(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
        for page in PAGES:
            cold = _timed(lambda at=at, page=page: at.switch_page(page).run())
            warm = _timed(lambda at=at, page=page: at.switch_page(page).run())
            out.setdefault(page, {}).setdefault("cold", []).append(cold)
            out[page].setdefault("warm", []).append(warm)
        at.switch_page("pages/visits.py").run()
        for box in at.selectbox:
            if box.label == "对象类型" and len(box.options) > 1:
                out["pages/visits.py"].setdefault("filter", []).append(
                    _timed(lambda box=box: box.select_index(1).run())
                )
                break
    return {p: {k: statistics.median(v) for k, v in d.items()} for p, d in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    _account(os.environ["KUOMIAN_DB"])
    print(f"database {os.environ.get('KUOMIAN_DB')}; medians of {args.runs} runs (ms)")
    print("| page | first render (cold cache) | again (cached) | filter change |")
    print("|---|---|---|---|")
    for page, t in measure(args.runs).items():
        print(
            f"| {page} | {t['cold']:.0f} | {t['warm']:.0f} | {t['filter']:.0f} |"
            if "filter" in t
            else f"| {page} | {t['cold']:.0f} | {t['warm']:.0f} | – |"
        )


if __name__ == "__main__":
    main()
