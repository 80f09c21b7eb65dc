"""Readers never wait for a writer: while a build runs in its own process (held,
with the import store open read-write and the writers' lock taken), every page
renders, a visit is recorded and every export runs, all on the previous
registry; after it, all of them show the new one, and the visit is still there."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_app import ROLE_PAGES, _navigation_as_served, add_accounts, app, goto, ok  # noqa: F401
from tinyregion import DATES, write_batches

from analytics import published, reads, writes
from analytics.access import Scope
from analytics.ingest import import_batches
from analytics.registry.build import build_registry

KUOMIAN = [sys.executable, "-m", "analytics.cli"]


def cli(*args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KUOMIAN, *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def exports(db: Path, out: Path) -> dict[str, str]:
    """Every export through the command line (its own process); name -> file text."""
    out.mkdir(parents=True, exist_ok=True)
    texts = {}
    for what, extra in [
        ("targets", []),
        ("kpi", ["--level", "street"]),
        ("problems", []),
        ("entities", []),
        ("imports", []),
    ]:
        path = out / f"{what}.csv"
        done = cli("export", what, "--db", db, "--out", path, *extra)
        assert done.returncode == 0, done.stderr
        texts[what] = path.read_text(encoding="utf-8")
    return texts


@pytest.fixture
def first_quarter_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None
) -> Path:
    """The tiny region's first quarter built, its second imported but not built."""
    first, second = write_batches(tmp_path / "batches")
    db = tmp_path / "serve.duckdb"
    import_batches([first], db=db)
    build_registry(db)
    import_batches([second], db=db)
    add_accounts(db)
    monkeypatch.setenv("KUOMIAN_DB", str(db))
    return db


def test_pages_visits_and_exports_work_during_a_build(
    first_quarter_built: Path, tmp_path: Path
) -> None:
    db = first_quarter_built
    before = exports(db, tmp_path / "before")
    assert reads.status(db).current_as_of == DATES[0]

    hold = tmp_path / "go"
    build = subprocess.Popen(
        [*KUOMIAN, "build", "--db", str(db)],
        env={**os.environ, "KUOMIAN_HOLD_BUILD": str(hold)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not Path(f"{hold}.held").exists():
            assert build.poll() is None, build.stderr.read()
            assert time.monotonic() < deadline, "the build never reached its hold"
            time.sleep(0.1)

        # The build holds the import store read-write and the writers' lock now.
        assert reads.status(db).current_as_of == DATES[0]
        at = ok(app("bureau"))
        for page in ROLE_PAGES["bureau"]:
            goto(at, page)
        during = exports(db, tmp_path / "during")
        assert during == before
        version = reads.status(db).current_version
        target = reads.targets(db, version, Scope.bureau()).iloc[0]
        who = target["id_number"]
        writes.record_visit(
            db,
            Scope.cadre([target["community_code"]], user="王专干"),
            who,
            dt.date(2025, 7, 1),
            "同意参保",
            willingness="愿意",
            surveyor="王专干",
            today=dt.date(2025, 7, 2),
        )
        # A second writer waits a bounded time, then says who holds the lock.
        second = cli("build", "--db", db, env={"KUOMIAN_WRITER_WAIT": "0.5"})
        assert second.returncode != 0
        assert "构建正在进行" in second.stderr and "开始于" in second.stderr
        assert build.poll() is None  # no reader made the build fail
    finally:
        hold.write_text("go", encoding="ascii")
        _, err = build.communicate(timeout=240)
    assert build.returncode == 0, err

    status = reads.status(db)
    assert status.current_as_of == DATES[1]
    after = exports(db, tmp_path / "after")
    assert after["imports"] == before["imports"]  # the import had published its accounting
    assert after["kpi"] != before["kpi"] and after["targets"] != before["targets"]
    at = ok(app("bureau"))
    for page in ROLE_PAGES["bureau"]:
        goto(at, page)
    # The visit recorded during the build was not lost: the new registry shows it.
    card = reads.person_card(db, status.current_version, Scope.bureau(), who)
    assert "同意参保" in set(card["visits"]["result"])


def test_a_page_run_keeps_to_the_version_it_began_on(first_quarter_built: Path) -> None:
    db = first_quarter_built
    with published.pinned(db) as pinned:
        old = reads.status(db)
        build_registry(db)
        # Pinned: still the version the run began on, whole.
        assert published.current_number(db) != pinned
        assert reads.status(db) == old
    assert reads.status(db).current_as_of == DATES[1]


def test_a_pinned_version_pruned_meanwhile_is_read_on_from_its_attached_copy(
    first_quarter_built: Path,
) -> None:
    """Two builds during one page run prune the manifest of the version it began
    on: the page reads on from the copy this process has attached, not the newest."""
    db = first_quarter_built
    with published.pinned(db) as pinned:
        old = reads.status(db)
        build_registry(db)
        (published.root(db) / "versions" / f"{pinned}.json").unlink()  # pruned
        assert reads.status(db) == old
    assert reads.status(db).current_as_of == DATES[1]


def test_a_killed_build_leaves_the_published_registry_in_use(first_quarter_built: Path) -> None:
    db = first_quarter_built
    number = published.current_number(db)
    build = subprocess.Popen(
        [*KUOMIAN, "build", "--db", str(db)],
        env={**os.environ, "KUOMIAN_HOLD_BUILD": str(db) + ".never"},
    )
    deadline = time.monotonic() + 240
    while not Path(f"{db}.never.held").exists():
        assert time.monotonic() < deadline and build.poll() is None
        time.sleep(0.1)
    build.kill()
    build.wait(timeout=60)
    assert published.current_number(db) == number
    assert reads.status(db).current_as_of == DATES[0]
    # The lock died with the process: the next build runs and publishes.
    assert cli("build", "--db", db).returncode == 0
    assert reads.status(db).current_as_of == DATES[1]


def test_a_database_made_again_at_the_same_path_never_reads_the_old_files(
    first_quarter_built: Path, tmp_path: Path
) -> None:
    """make run deletes the database and imports again: the published versions of
    the deleted one must not be read as the new one's (its versions count from 1
    again, so the same file names would come up)."""
    db = first_quarter_built
    old = reads.kpi(db, reads.status(db).current_version, "city")
    published.close_all()
    db.unlink()
    assert reads.status(db).exists is False
    # The second quarter's files, dated as the first: version 1 of 2025-03-31 again,
    # with other numbers (the tiny region's i % 6 == 5 people are insured in them).
    second = write_batches(tmp_path / "again")[1]
    again = tmp_path / "moved" / DATES[0].isoformat()
    again.parent.mkdir()
    second.rename(again)
    manifest = again / "manifest.toml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(str(DATES[1]), str(DATES[0])),
        encoding="utf-8",
    )
    import_batches([again], db=db)
    build_registry(db)
    status = reads.status(db)
    assert status.current_version == 1 and status.current_as_of == DATES[0]
    new = reads.kpi(db, status.current_version, "city")
    assert int(new["insured"].iloc[0]) > int(old["insured"].iloc[0])
    files = list((published.root(db) / "snapshots").glob("*.duckdb"))
    assert len(files) == 1  # the deleted store's snapshots are gone
