"""Accounts, role and grid on exports, lockout and the audit log, through the real
command line (shared/data-contract.md, "Accounts").

Expectations come from the tiny regions' own rules (tests/tinyregion.py: person
``i`` lives in community ``COMMUNITY_CODES[i % 4]``; the region below lists its
problem rows and businesses by hand), never from the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from batchgen import REGION, make_batch, make_id, make_uscc
from tinyregion import N, build_tiny_db, community_of, copy_database, person_id

from analytics import accounts, audit, reads, store, writes
from analytics.access import AccessDenied, Scope
from analytics.cli import main

pytestmark = pytest.mark.usefixtures("cheap_hashes")

PASSWORD = "Kuomian2025pw"
OTHER = "Xinmima2025ab"
STREET_A, STREET_B = REGION + "001", REGION + "002"
A1, A2, B1 = STREET_A + "001", STREET_A + "002", STREET_B + "001"
AUDIT_COLUMNS = ["at", "user", "role", "action", "what", "rows", "detail"]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def _tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_db(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def region(_tiny: Path, tmp_path: Path) -> Path:
    """A copy of the tiny region of this test, with no account yet."""
    return copy_database(_tiny, tmp_path / "k.duckdb")


class Cli:
    """``kuomian`` in this process: stdin, $KUOMIAN_PASSWORD and what it printed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
        self.monkeypatch, self.capsys = monkeypatch, capsys
        self.printed: list[str] = []

    def __call__(self, *args: str, stdin: str = "", password: str | None = None) -> int:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        if password is None:
            self.monkeypatch.delenv("KUOMIAN_PASSWORD", raising=False)
        else:
            self.monkeypatch.setenv("KUOMIAN_PASSWORD", password)
        rc = main([str(a) for a in args])
        out, err = self.capsys.readouterr()
        self.out, self.err = out, err
        self.printed += [out, err]
        return rc

    def add(self, db: Path, name: str, role: str, *scope: str, pw: str = PASSWORD) -> None:
        extra = ["--scope", *scope] if scope else []
        assert self("user", "add", name, "--role", role, *extra, "--db", db, stdin=pw + "\n") == 0


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Cli:
    return Cli(monkeypatch, capsys)


def export(
    cli: Cli,
    db: Path,
    what: str,
    out: Path,
    user: str | None = None,
    *extra: str,
    password: str = PASSWORD,
) -> int:
    """``kuomian export WHAT --db DB --out OUT [--user USER]`` (password in the environment)."""
    who = ["--user", user] if user else []
    return cli(
        "export", what, "--db", db, "--out", out, *who, *extra, password=password if user else None
    )


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return next(csv.reader(f))


def audit_rows(db: Path) -> list[dict]:
    con = sqlite3.connect(store.app_db(db))
    try:
        cur = con.execute("SELECT * FROM audit ORDER BY rowid")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def user_list(cli: Cli, db: Path) -> dict[str, dict[str, str]]:
    assert cli("user", "list", "--db", db) == 0
    return {r["name"]: r for r in csv.DictReader(io.StringIO(cli.out))}


# ---------------------------------------------------------------- accounts


def test_user_add_and_list_show_name_role_scope_and_state(cli: Cli, region: Path) -> None:
    cli.add(region, "王专干", "cadre", STREET_A, B1)
    cli.add(region, "局长", "leader")
    cli.add(region, "admin1", "admin")
    listed = user_list(cli, region)
    assert list(next(iter(listed.values())))[:4] == ["name", "role", "scope", "state"]
    assert listed["王专干"]["role"] == "cadre"
    assert listed["王专干"]["scope"] == f"{STREET_A};{B1}"
    assert listed["局长"]["scope"] == "" and listed["admin1"]["role"] == "admin"
    assert {r["state"] for r in listed.values()} == {"active"}
    # An initial password is to be changed at the first login in the app.
    assert {r["must_change_password"] for r in listed.values()} == {"true"}


def test_there_is_no_default_account(cli: Cli, region: Path) -> None:
    assert user_list(cli, region) == {}
    assert export(cli, region, "kpi", region.parent / "k.csv", "admin") != 0


@pytest.mark.parametrize("weak", ["short1a", "abcdefghijkl", "123456789012", "", "Ab1\x00cdefghij"])
def test_weak_passwords_are_refused(cli: Cli, region: Path, weak: str) -> None:
    rc = cli("user", "add", "小李", "--role", "bureau", "--db", region, stdin=weak + "\n")
    assert rc != 0 and cli.err.count("\n") == 1
    assert weak == "" or weak not in cli.err
    assert "小李" not in user_list(cli, region)


@pytest.mark.parametrize(
    "role, scope",
    [
        ("cadre", []),
        ("cadre", ["5301810010"]),
        ("cadre", ["53018100100x"]),
        ("leader", [STREET_A]),
        ("bureau", [A1]),
        ("admin", [A1]),
    ],
)
def test_scope_rules(cli: Cli, region: Path, role: str, scope: list[str]) -> None:
    extra = ["--scope", *scope] if scope else []
    args = ("user", "add", "某人", "--role", role, *extra, "--db", region)
    assert cli(*args, stdin=PASSWORD + "\n") != 0
    assert user_list(cli, region) == {}


def test_a_street_or_a_community_makes_a_cadre(cli: Cli, region: Path) -> None:
    cli.add(region, "甲", "cadre", STREET_A)
    cli.add(region, "乙", "cadre", A1, "--scope", B1)
    assert user_list(cli, region)["乙"]["scope"] == f"{A1};{B1}"


@pytest.mark.parametrize("name", ["(命令行)", "张 三", "341721198001011234", "13812345678", "a;b"])
def test_names_that_would_confuse_the_audit_log_are_refused(
    cli: Cli, region: Path, name: str
) -> None:
    assert cli("user", "add", name, "--role", "bureau", "--db", region, stdin=PASSWORD) != 0


def test_a_name_is_added_once(cli: Cli, region: Path) -> None:
    cli.add(region, "局长", "leader")
    args = ("user", "add", "局长", "--role", "bureau", "--db", region)
    assert cli(*args, stdin=PASSWORD + "\n") != 0
    assert user_list(cli, region)["局长"]["role"] == "leader"


def test_passwords_are_stored_as_argon2id_hashes(cli: Cli, region: Path) -> None:
    cli.add(region, "局长", "leader")
    (digest,) = store.app_rows(region, "SELECT password_hash FROM accounts")[0]
    assert digest.startswith("$argon2id$") and PASSWORD not in digest


def test_the_production_hasher_is_argon2_cffis_default() -> None:
    # In a fresh interpreter: this module's tests run with the cheap hasher.
    code = (
        "from argon2 import PasswordHasher, Type; from analytics import accounts as a; "
        "d = PasswordHasher(); h = a.hasher; "
        "print(h.type is Type.ID, (h.time_cost, h.memory_cost, h.parallelism) == "
        "(d.time_cost, d.memory_cost, d.parallelism), d.memory_cost >= 65536)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    run = [sys.executable, "-c", code]
    done = subprocess.run(run, check=False, capture_output=True, text=True, env=env)
    assert done.stdout.split() == ["True", "True", "True"], done.stderr


def test_a_cheaper_hash_is_upgraded_at_the_next_login(
    region: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    accounts.add_user(region, "局长", "leader", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(accounts, "hasher", stronger)
    accounts.authenticate(region, "局长", PASSWORD)
    (digest,) = store.app_rows(region, "SELECT password_hash FROM accounts")[0]
    assert not stronger.check_needs_rehash(digest)
    assert accounts.authenticate(region, "局长", PASSWORD).name == "局长"


# ---------------------------------------------------------------- role and grid on exports


def _bureau_and(cli: Cli, region: Path, what: str, *more: tuple[str, str, tuple[str, ...]]):
    cli.add(region, "局", "bureau")
    for name, role, scope in more:
        cli.add(region, name, role, *scope)
    out = region.parent / f"bureau-{what}.csv"
    assert export(cli, region, what, out, "局") == 0
    return rows(out)


def test_a_cadres_targets_are_the_bureaus_inside_the_grid(cli: Cli, region: Path) -> None:
    bureau = _bureau_and(cli, region, "targets", ("王专干", "cadre", (STREET_A, B1)))
    out = region.parent / "cadre.csv"
    assert export(cli, region, "targets", out, "王专干") == 0
    mine = rows(out)
    # The tiny region's rule, not the export's community column: person i lives
    # in community_of(i); the grid is street 001 (both its communities) and 002001.
    grid = {community_of(i) for i in range(N)} - {STREET_B + "002"}
    home = {person_id(i): community_of(i) for i in range(N)}
    expected = [r for r in bureau if home[r["id_number"]] in grid]
    assert mine == expected  # full values, the region's ranks
    assert 0 < len(mine) < len(bureau)
    assert header(out)[:7] == [
        "id_number", "target_type", "groups", "street_code", "community_code", "score", "rank",
    ]  # fmt: skip


def test_a_community_cadre_gets_that_community_only(cli: Cli, region: Path) -> None:
    bureau = _bureau_and(cli, region, "targets", ("李专干", "cadre", (A2,)))
    out = region.parent / "cadre.csv"
    assert export(cli, region, "targets", out, "李专干") == 0
    home = {person_id(i): community_of(i) for i in range(N)}
    assert rows(out) == [r for r in bureau if home[r["id_number"]] == A2]


def test_a_cadres_problems_follow_the_rows_own_address_code(cli: Cli, region: Path) -> None:
    # The tiny region's one problem row: a 户籍 row with a 17-digit ID in 001001.
    bureau = _bureau_and(
        cli, region, "problems", ("甲", "cadre", (STREET_A,)), ("乙", "cadre", (STREET_B,))
    )
    assert [r["reason"] for r in bureau] == ["invalid_id"]
    a, b = region.parent / "a.csv", region.parent / "b.csv"
    assert export(cli, region, "problems", a, "甲") == 0
    assert export(cli, region, "problems", b, "乙") == 0
    assert rows(a) == bureau and rows(b) == []


@pytest.mark.parametrize("role", ["leader", "admin"])
@pytest.mark.parametrize("what", ["targets", "problems"])
def test_leaders_and_admins_get_no_person_level_export(
    cli: Cli, region: Path, role: str, what: str
) -> None:
    cli.add(region, "某", role)
    out = region.parent / "out.csv"
    assert export(cli, region, what, out, "某") != 0
    assert not out.exists()
    assert cli.err.count("\n") == 1
    assert not [r for r in audit_rows(region) if r["action"] == "export" and r["rows"] is not None]


@pytest.mark.parametrize("role", ["leader", "admin", "cadre", "bureau"])
def test_kpi_is_open_to_every_role_at_every_level(cli: Cli, region: Path, role: str) -> None:
    cli.add(region, "某", role, *([STREET_B] if role == "cadre" else []))
    for level in ("city", "street", "community"):
        mine, operators = region.parent / "mine.csv", region.parent / "op.csv"
        assert export(cli, region, "kpi", mine, "某", "--level", level) == 0
        assert export(cli, region, "kpi", operators, None, "--level", level) == 0
        assert mine.read_bytes() == operators.read_bytes()


def test_without_user_the_exports_are_unchanged(cli: Cli, region: Path) -> None:
    for what in ("targets", "problems", "entities", "imports"):
        op, bureau = region.parent / f"op-{what}.csv", region.parent / f"b-{what}.csv"
        if what == "targets":
            cli.add(region, "局", "bureau")
        assert export(cli, region, what, op) == 0
        assert export(cli, region, what, bureau, "局") == 0
        assert op.read_bytes() == bureau.read_bytes()


@pytest.mark.parametrize("role", ["leader", "cadre"])
def test_imports_are_for_the_bureau_and_the_admin(cli: Cli, region: Path, role: str) -> None:
    cli.add(region, "某", role, *([STREET_B] if role == "cadre" else []))
    cli.add(region, "管", "admin")
    out = region.parent / "imports.csv"
    assert export(cli, region, "imports", out, "某") != 0 and not out.exists()
    assert export(cli, region, "imports", out, "管") == 0 and rows(out)


# ---------------------------------------------------------------- a region with problems and businesses

# Problem rows and businesses whose grid is known by construction:
#   户籍 file 1 (户籍地址编码): a bad ID in B1 (own code B1); a valid ID with an
#     11-digit address code (own code unusable, ID not in the registry: left out);
#   户籍 file 2 (社区编码, full-width digits): a bad ID in A1 (own code A1);
#   残疾人: unknown levels for persons 1 (A1) and 2 (B1) (no address: their
#     registry community) and for person 7, who is in no 户籍 (left out);
#   市场主体 (纳税正常): shops in A1 and B1 and one without an address code.
BAD_A, BAD_B = "5301811980010100", "5301811980010199"
HOMELESS = make_id(9)


def _problem_region(root: Path) -> Path:
    hukou1 = [
        ["身份证号", "姓名", "户籍地址编码"],
        [make_id(1), "张一", A1],
        [make_id(2), "张二", B1],
    ]
    hukou1 += [[BAD_B, "坏乙", B1], [HOMELESS, "张九", "53018100100"]]
    wide = A1.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    hukou2 = [["身份证号", "姓名", "社区编码"], [make_id(3), "张三", A1], [BAD_A, "坏甲", wide]]
    disability = [["身份证号", "残疾等级"], [make_id(1), "五级"], [make_id(2), "五级"]]
    disability.append([make_id(7), "五级"])
    entity = [
        ["统一社会信用代码", "主体名称", "主体类型", "经营者身份证号", "登记状态", "住所区划代码"]
    ]
    entity += [
        [make_uscc(1), "甲店", "个体工商户", make_id(1), "存续", A1],
        [make_uscc(2), "乙店", "个体工商户", make_id(2), "存续", B1],
        [make_uscc(3), "丙店", "个体工商户", make_id(3), "存续", ""],
    ]
    taxpayer = [["纳税人识别号", "纳税人状态"]] + [[make_uscc(n), "正常"] for n in (1, 2, 3)]
    division = [["区划代码", "区划名称"], [REGION, "示例市"], [STREET_A, "甲街道"]]
    division += [[STREET_B, "乙镇"], [A1, "东风社区"], [B1, "河口村"]]
    batch = make_batch(
        root,
        "2025-06-30",
        {
            "户籍人口1.csv": hukou1,
            "户籍人口2.csv": hukou2,
            "残疾人.csv": disability,
            "市场主体.csv": entity,
            "纳税主体.csv": taxpayer,
            "行政区划.csv": division,
        },
    )
    db = root / "p.duckdb"
    assert main(["import", str(batch), "--db", str(db)]) == 0
    assert main(["build", "--db", str(db)]) == 0
    return db


@pytest.fixture(scope="module")
def _problems_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _problem_region(tmp_path_factory.mktemp("problems"))


@pytest.fixture
def problem_region(_problems_db: Path, tmp_path: Path) -> Path:
    return copy_database(_problems_db, tmp_path / "p.duckdb")


def _keys(path: Path) -> set[tuple[str, str, str]]:
    return {
        (r["kind"], r["reason"], r["id_number"]) for r in rows(path) if r["severity"] == "error"
    }


def test_problem_rows_go_by_own_code_else_the_registry_else_nowhere(
    cli: Cli, problem_region: Path
) -> None:
    db = problem_region
    cli.add(db, "局", "bureau")
    cli.add(db, "甲", "cadre", STREET_A)
    cli.add(db, "乙", "cadre", B1)
    got = {}
    for who in ("局", "甲", "乙"):
        out = db.parent / f"{who}.csv"
        assert export(cli, db, "problems", out, who) == 0
        got[who] = _keys(out)
    level = ("disability", "invalid_value")
    assert got["局"] >= {
        ("hukou", "invalid_id", BAD_A),
        ("hukou", "invalid_id", BAD_B),
        ("hukou", "invalid_address_code", HOMELESS),
        (*level, make_id(1)),
        (*level, make_id(2)),
        (*level, make_id(7)),
    }
    assert got["甲"] == {("hukou", "invalid_id", BAD_A), (*level, make_id(1))}
    assert got["乙"] == {("hukou", "invalid_id", BAD_B), (*level, make_id(2))}


def test_a_cadres_entities_are_those_of_the_grid_with_full_values(
    cli: Cli, problem_region: Path
) -> None:
    db = problem_region
    cli.add(db, "局", "bureau")
    cli.add(db, "甲", "cadre", STREET_A)
    bureau, mine = db.parent / "b.csv", db.parent / "a.csv"
    assert export(cli, db, "entities", bureau, "局") == 0
    assert export(cli, db, "entities", mine, "甲") == 0
    assert {r["uscc"] for r in rows(bureau)} == {make_uscc(1), make_uscc(2), make_uscc(3)}
    assert rows(mine) == [r for r in rows(bureau) if r["uscc"] == make_uscc(1)]
    assert "operator_id_number" in header(mine)


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_leaders_and_admins_get_the_entities_contract_columns_only(
    cli: Cli, problem_region: Path, role: str
) -> None:
    db = problem_region
    cli.add(db, "某", role)
    out = db.parent / "e.csv"
    assert export(cli, db, "entities", out, "某") == 0
    assert header(out) == [
        "uscc",
        "entity_name",
        "street_code",
        "tax_status",
        "employees",
        "reason",
    ]
    assert len(rows(out)) == 3
    assert not any(make_id(n) in out.read_text(encoding="utf-8") for n in (1, 2, 3))


# ---------------------------------------------------------------- passwords and lockout


def test_a_wrong_password_is_refused_and_logged(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    out = region.parent / "t.csv"
    assert export(cli, region, "targets", out, "局", password="Wrong2025pass") != 0
    assert not out.exists() and cli.err.count("\n") == 1
    last = audit_rows(region)[-1]
    assert (last["user"], last["role"], last["action"]) == ("局", "bureau", "login_failed")
    assert "targets" in last["what"]


def test_an_unknown_name_is_refused_like_a_wrong_password(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    out = region.parent / "t.csv"
    assert export(cli, region, "kpi", out, "局", password="Wrong2025pass") != 0
    wrong = cli.err.split(":", 1)[1]
    assert export(cli, region, "kpi", out, "无此人") != 0
    assert cli.err.split(":", 1)[1] == wrong and not out.exists()
    assert audit_rows(region)[-1]["action"] == "login_failed"


def test_no_password_in_the_environment_is_refused(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    out = region.parent / "t.csv"
    assert export(cli, region, "kpi", out, "局", password="") != 0 and not out.exists()


def _wrong(cli: Cli, db: Path, name: str, times: int) -> None:
    for _ in range(times):
        assert export(cli, db, "kpi", db.parent / "k.csv", name, password="Wrong2025pass") != 0


def test_the_fifth_wrong_password_locks_the_account(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    _wrong(cli, region, "局", 4)
    assert user_list(cli, region)["局"]["state"] == "active"
    _wrong(cli, region, "局", 1)
    assert user_list(cli, region)["局"]["state"] == "locked"
    log = audit_rows(region)
    assert [r["action"] for r in log if r["user"] == "局"][-6:] == [
        *["login_failed"] * 5,
        "locked",
    ]
    out = region.parent / "t.csv"
    assert export(cli, region, "targets", out, "局") != 0 and not out.exists()
    assert audit_rows(region)[-1]["action"] == "login_failed"
    assert cli("user", "unlock", "局", "--db", region) == 0
    assert user_list(cli, region)["局"]["state"] == "active"
    assert export(cli, region, "targets", out, "局") == 0 and out.exists()


def test_a_right_password_resets_the_count(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    _wrong(cli, region, "局", 4)
    assert export(cli, region, "kpi", region.parent / "k.csv", "局") == 0
    _wrong(cli, region, "局", 4)
    assert user_list(cli, region)["局"]["state"] == "active"


def test_a_lock_runs_out_after_15_minutes(
    cli: Cli, region: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.add(region, "局", "bureau")
    start = dt.datetime.now()
    monkeypatch.setattr(accounts, "clock", lambda: start)
    _wrong(cli, region, "局", 5)
    out = region.parent / "k.csv"
    monkeypatch.setattr(accounts, "clock", lambda: start + dt.timedelta(minutes=14, seconds=59))
    assert export(cli, region, "kpi", out, "局") != 0
    assert user_list(cli, region)["局"]["state"] == "locked"
    monkeypatch.setattr(accounts, "clock", lambda: start + dt.timedelta(minutes=15))
    assert user_list(cli, region)["局"]["state"] == "active"
    assert export(cli, region, "kpi", out, "局") == 0
    # The count starts again: one more wrong password does not lock it.
    _wrong(cli, region, "局", 1)
    assert user_list(cli, region)["局"]["state"] == "active"


def test_a_disabled_account_is_refused_until_enabled(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    out = region.parent / "k.csv"
    assert cli("user", "disable", "局", "--db", region) == 0
    assert user_list(cli, region)["局"]["state"] == "disabled"
    assert export(cli, region, "kpi", out, "局") != 0 and not out.exists()
    assert cli("user", "enable", "局", "--db", region) == 0
    assert export(cli, region, "kpi", out, "局") == 0


def test_passwd_resets_the_password(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    assert cli("user", "passwd", "局", "--db", region, stdin="short\n") != 0
    assert cli("user", "passwd", "局", "--db", region, stdin=OTHER + "\n") == 0
    out = region.parent / "k.csv"
    assert export(cli, region, "kpi", out, "局") != 0
    assert export(cli, region, "kpi", out, "局", password=OTHER) == 0
    assert user_list(cli, region)["局"]["must_change_password"] == "true"


def test_the_owners_own_change_clears_must_change(region: Path) -> None:
    accounts.add_user(region, "局", "bureau", PASSWORD)
    with pytest.raises(accounts.AccountError):
        accounts.change_password(region, "局", PASSWORD, "weak")
    with pytest.raises(accounts.LoginRefused):
        accounts.change_password(region, "局", "Wrong2025pass", OTHER)
    changed = accounts.change_password(region, "局", PASSWORD, OTHER)
    assert not changed.must_change_password
    assert accounts.authenticate(region, "局", OTHER).role == "bureau"


def test_account_changes_are_user_change_rows(cli: Cli, region: Path) -> None:
    cli.add(region, "王专干", "cadre", A1)
    for verb in ("disable", "enable", "unlock"):
        assert cli("user", verb, "王专干", "--db", region) == 0
    assert cli("user", "passwd", "王专干", "--db", region, stdin=OTHER + "\n") == 0
    changes = [r for r in audit_rows(region) if r["action"] == "user_change"]
    assert [r["what"] for r in changes] == [
        f"user {v} 王专干" for v in ("add", "disable", "enable", "unlock", "passwd")
    ]
    assert {(r["user"], r["role"]) for r in changes} == {(audit.OPERATOR, audit.OPERATOR_ROLE)}
    assert A1 in changes[0]["detail"]


def test_changing_an_unknown_account_fails(cli: Cli, region: Path) -> None:
    for verb in ("disable", "enable", "unlock"):
        assert cli("user", verb, "无此人", "--db", region) != 0
    assert cli("user", "passwd", "无此人", "--db", region, stdin=OTHER + "\n") != 0


# ---------------------------------------------------------------- the audit log


def test_an_export_with_user_writes_one_export_row_with_its_rows(cli: Cli, region: Path) -> None:
    cli.add(region, "王专干", "cadre", STREET_B)
    before = len(audit_rows(region))
    out = region.parent / "t.csv"
    assert export(cli, region, "targets", out, "王专干") == 0
    (row,) = audit_rows(region)[before:]
    assert (row["user"], row["role"], row["action"]) == ("王专干", "cadre", "export")
    assert row["rows"] == len(rows(out)) and row["what"].startswith("targets")
    assert STREET_B in row["what"]  # the export's filters: the grid


def test_the_operators_exports_are_audited_as_the_command_line(cli: Cli, region: Path) -> None:
    out = region.parent / "k.csv"
    assert export(cli, region, "kpi", out, None, "--level", "street") == 0
    (row,) = audit_rows(region)
    assert (row["user"], row["action"], row["rows"]) == ("(命令行)", "export", len(rows(out)))
    assert row["what"] == "kpi level=street"


def test_export_audit_has_the_contracts_columns_and_is_audited(cli: Cli, region: Path) -> None:
    cli.add(region, "管", "admin")
    cli.add(region, "局", "bureau")
    out = region.parent / "audit.csv"
    assert export(cli, region, "audit", out, "管") == 0
    assert header(out) == AUDIT_COLUMNS
    logged = rows(out)
    assert [r["action"] for r in logged] == ["user_change", "user_change"]
    last = audit_rows(region)[-1]
    assert (last["user"], last["action"], last["rows"]) == ("管", "export", 2)
    assert last["what"] == "audit"
    assert export(cli, region, "audit", out, "局") == 0
    assert len(rows(out)) == 3
    assert export(cli, region, "audit", out, None) == 0  # the operator


@pytest.mark.parametrize("role", ["leader", "cadre"])
def test_export_audit_is_refused_to_leaders_and_cadres(cli: Cli, region: Path, role: str) -> None:
    cli.add(region, "某", role, *([A1] if role == "cadre" else []))
    out = region.parent / "audit.csv"
    assert export(cli, region, "audit", out, "某") != 0 and not out.exists()


def test_the_audit_log_is_append_only(cli: Cli, region: Path) -> None:
    cli.add(region, "局", "bureau")
    con = sqlite3.connect(store.app_db(region))
    try:
        for sql in ('UPDATE audit SET "rows" = 0', "DELETE FROM audit"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()
    assert len(audit_rows(region)) == 1


def test_only_the_contracts_actions_are_written(region: Path) -> None:
    with pytest.raises(ValueError):
        audit.record(region, "局", "bureau", "download", "x")
    for action in audit.ACTIONS:
        audit.record(region, "局", "bureau", action, "x")
    assert [r["action"] for r in audit_rows(region)] == list(audit.ACTIONS)


def test_the_audit_read_filters_by_user_action_and_dates(region: Path) -> None:
    days = [dt.datetime(2025, 7, d, 9) for d in (1, 2, 3)]
    for day, user, action in zip(days, ["甲", "乙", "甲"], ["export", "login", "login"]):
        audit.record(region, user, "bureau", action, "x", rows=1, now=day)
    assert list(audit.read(region).columns) == AUDIT_COLUMNS
    assert len(audit.read(region, user="甲")) == 2
    assert list(audit.read(region, action="login")["user"]) == ["乙", "甲"]
    since = audit.read(region, since=dt.date(2025, 7, 2), until=dt.date(2025, 7, 2))
    assert list(since["user"]) == ["乙"]
    assert audit.read(region, newest_first=True)["at"].iloc[0].startswith("2025-07-03")


def test_person_views_and_stray_numbers_are_masked_in_the_log(region: Path) -> None:
    who = make_id(5)
    audit.record(
        region, "王专干", "cadre", "person_view", "person", detail=f"查看 {who} 13812345678"
    )
    (row,) = audit_rows(region)
    assert who not in row["detail"] and "13812345678" not in row["detail"]
    assert who[:6] + "*" * 8 + who[-4:] in row["detail"] and "138****5678" in row["detail"]


def test_no_password_or_id_number_reaches_the_log_stdout_or_stderr(cli: Cli, region: Path) -> None:
    cli.add(region, "王专干", "cadre", STREET_A)
    cli.add(region, "局", "bureau")
    assert cli("user", "passwd", "局", "--db", region, stdin=OTHER + "\n") == 0
    assert cli("user", "add", "弱", "--role", "bureau", "--db", region, stdin="weakpass\n") != 0
    for what in ("targets", "problems", "kpi", "entities"):
        export(cli, region, what, region.parent / f"{what}.csv", "王专干")
        export(cli, region, what, region.parent / f"{what}.csv", "局", password=OTHER)
    _wrong(cli, region, "王专干", 5)
    export(cli, region, "audit", region.parent / "audit.csv", "局", password=OTHER)
    assert cli("user", "list", "--db", region) == 0
    logged = "\n".join(str(v) for r in audit_rows(region) for v in r.values())
    logged += (region.parent / "audit.csv").read_text(encoding="utf-8")
    printed = "\n".join(cli.printed)
    ids = [person_id(i) for i in range(N)]
    for text in (logged, printed):
        assert PASSWORD not in text and OTHER not in text and "weakpass" not in text
        assert "Wrong2025pass" not in text
        assert not any(i in text for i in ids)
        assert not re.search(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])", text)


# ---------------------------------------------------------------- the app's side


def test_the_apps_exports_of_names_are_export_rows(region: Path) -> None:
    writes.log_export(region, Scope.cadre([STREET_A], user="王专干"), "走访清单 甲街道", 12)
    log = reads.export_audit(region, Scope.bureau())
    assert list(log.columns) == AUDIT_COLUMNS
    assert list(log[["user", "role", "action", "rows"]].itertuples(index=False, name=None)) == [
        ("王专干", "cadre", "export", 12)
    ]
    assert len(reads.export_audit(region, Scope.admin())) == 1
    with pytest.raises(AccessDenied):
        reads.export_audit(region, Scope.leader())
    for scope in (Scope.leader(), Scope.admin()):
        with pytest.raises(AccessDenied):
            writes.log_export(region, scope, "x", 1)


def test_an_admin_sees_aggregates_only() -> None:
    admin = Scope.admin("管")
    assert not admin.sees_names and admin.reads_audit and admin.grid is None
    with pytest.raises(AccessDenied):
        admin.require_names()
    with pytest.raises(AccessDenied):
        Scope.leader().require_names()
    Scope.bureau().require_names()
    Scope.cadre([A1]).require_names()


def test_an_accounts_scope_is_its_role_and_grid(region: Path) -> None:
    cadre = accounts.add_user(region, "王专干", "cadre", PASSWORD, [STREET_A, B1])
    assert cadre.access == Scope.cadre([STREET_A, B1], user="王专干")
    leader = accounts.add_user(region, "局长", "leader", PASSWORD)
    assert leader.access == Scope.leader("局长")
    assert accounts.authenticate(region, "王专干", PASSWORD).access.covers(A2)
