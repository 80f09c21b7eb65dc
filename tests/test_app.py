"""The dashboard pages under streamlit.testing.v1.AppTest (no browser): every test
logs in through the form with a real account (cheap argon2 parameters); the login,
the lock, the forced password change and the idle timeout; each role's pages and a
grid nobody can widen; every page runs, the numbers on screen equal the exports,
personal data is masked or withheld, every download and person card is in the
audit log, and the administrator's page keeps the accounts and reads the log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sqlite3
import time
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest
from batchgen import make_batch
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Error
from tinyregion import (
    COMMUNITIES,
    COMMUNITY_CODES,
    STREETS,
    build_tiny_db,
    community_of,
    copy_database,
    hukou_address,
    person_id,
    write_batches,
)

from analytics import accounts, published, store
from analytics.exports import export
from pages import _session as session
from pages import _shared as ui

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = {
    "pages/overview.py": "扩面增效总览",
    "pages/map.py": "扩面地图",
    "pages/visits.py": "走访清单",
    "pages/registry.py": "实名库查询",
    "pages/data_import.py": "数据导入与数据质量",
    "pages/admin.py": "账号与审计",
}
ROLE_PAGES = {
    "leader": ["pages/overview.py", "pages/map.py"],
    "cadre": ["pages/overview.py", "pages/map.py", "pages/visits.py", "pages/registry.py"],
    "bureau": [p for p in PAGES if p != "pages/admin.py"],
    "admin": ["pages/admin.py"],
}
STREET_A, STREET_B = list(STREETS)
TIMEOUT = 60
PASSWORD = "kuomian2025ok"
FIRST_PASSWORD = "initial2025x"
# One account per role; two cadres, one per street.
ACCOUNTS = {
    "leader": ("赵领导", "leader", ()),
    "bureau": ("钱人社", "bureau", ()),
    "cadre": ("王专干", "cadre", (STREET_A,)),
    "cadre_b": ("李专干", "cadre", (STREET_B,)),
    "admin": ("孙管理", "admin", ()),
}
ID_LIKE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_db(tmp_path_factory.mktemp("tiny-app"))


def add_accounts(db: Path) -> None:
    """The accounts of ACCOUNTS, their first password already changed to PASSWORD."""
    for name, role, scope in ACCOUNTS.values():
        accounts.add_user(db, name, role, FIRST_PASSWORD, scope)
        accounts.change_password(db, name, FIRST_PASSWORD, PASSWORD)


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None) -> Path:
    copy = tmp_path / "app.duckdb"
    copy_database(built, copy)
    add_accounts(copy)
    monkeypatch.setenv("KUOMIAN_DB", str(copy))
    return copy


@pytest.fixture(autouse=True)
def _navigation_as_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run app.py on every run, as a server does. A server process's first
    st.navigation call turns Streamlit's folder-based page mode off for good;
    AppTest turns it back on before each run (the pages/ folder exists), so that
    a rerun would run the page's file alone, without app.py. A page run alone is
    tested on its own below."""
    init = PagesManager.__init__

    def served(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", served)


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict:
    """The files the download buttons would hand a browser: Streamlit registers
    each button's callable with the media file manager and runs it when the
    browser asks for the file; this records them by file id."""
    made: dict = {}
    register = MediaFileManager.add_deferred

    def spy(self, data_callable, *args, **kwargs):
        file_id = register(self, data_callable, *args, **kwargs)
        made[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return made


def fetch(at: AppTest, downloads: dict, key: str) -> bytes:
    """What a browser gets from the download button ``key`` (as a click asks for it)."""
    button = at.get("download_button")
    proto = next(b.proto for b in button if b.key == key)
    return downloads[proto.deferred_file_id]()


def start(**state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def submit_login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    return at.button(key="FormSubmitter:login_form-登录").click().run()


def login(name: str, password: str = PASSWORD, **state: object) -> AppTest:
    """An AppTest logged in through the form as ``name``."""
    at = submit_login(ok(start(**state)), name, password)
    return ok(at)


def app(role: str = "bureau", **state: object) -> AppTest:
    """An AppTest logged in with the account of ``role`` (see ACCOUNTS)."""
    return login(ACCOUNTS[role][0], **state)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not any("页面出错" in e.value for e in at.error), [e.value for e in at.error]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    return ok(at.switch_page(page).run())


def audit_rows(db: Path, action: str | None = None) -> list[tuple]:
    """(user, role, action, what, rows, detail) of the audit log, oldest first."""
    sql = 'SELECT "user", role, action, what, "rows", detail FROM audit'
    rows = store.app_rows(db, sql + " ORDER BY rowid")
    return [r for r in rows if action is None or r[2] == action]


def app_query(db: Path, sql: str) -> list[tuple]:
    """Rows of the app store (visits, audit) that belongs to ``db``."""
    con = sqlite3.connect(store.app_db(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def query(db: Path, sql: str) -> list[tuple]:
    """Rows of the import store, the stored versions' marts (reg_…) included."""
    with published.stored(db) as con:
        return con.execute(sql).fetchall()


def screen_text(at: AppTest) -> str:
    """Every value shown in tables, metrics and text on the page and the sidebar."""
    parts = [str(d.value.to_csv()) for d in at.dataframe]
    parts += [f"{m.label} {m.value} {m.delta}" for m in at.metric]
    parts += [
        str(e.value)
        for e in (*at.markdown, *at.caption, *at.subheader, *at.title, *at.info, *at.warning)
    ]
    parts += [f"{w.label} {w.options}" for w in at.selectbox]
    return "\n".join(parts)


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def on_page(at: AppTest, page: str) -> bool:
    """Whether ``at`` shows ``page`` (its title; the overview's starts with the city)."""
    return any(t.endswith(PAGES[page]) for t in titles(at))


# ---------------------------------------------------------------- login


def test_login_form_comes_first_and_shows_no_data(db: Path) -> None:
    at = ok(start())
    assert titles(at) == ["扩面增效"]
    assert not at.dataframe and not at.metric
    assert [w.label for w in at.text_input] == ["用户名", "密码"]


def test_wrong_password_and_unknown_name_get_the_same_message(db: Path) -> None:
    wrong = ok(submit_login(ok(start()), "钱人社", "wrong2025pass"))
    unknown = ok(submit_login(ok(start()), "没有此人", "wrong2025pass"))
    assert (
        [e.value for e in wrong.error] == [e.value for e in unknown.error] == ["用户名或密码错误。"]
    )
    assert titles(wrong) == ["扩面增效"]  # still the login form
    assert [r[:3] for r in audit_rows(db, "login_failed")] == [
        ("钱人社", "bureau", "login_failed"),
        ("没有此人", "", "login_failed"),
    ]


def test_fifth_wrong_password_locks_the_account(db: Path) -> None:
    at = ok(start())
    for _ in range(5):
        at = ok(submit_login(at, "钱人社", "wrong2025pass"))
    message = at.error[0].value
    assert "锁定" in message and "15 分钟" in message and "(" not in message
    at = ok(submit_login(at, "钱人社", PASSWORD))  # locked: the right password too
    assert "锁定" in at.error[0].value and titles(at) == ["扩面增效"]
    # Written once, by the data layer: five failures and the lock, then the refusal.
    assert len(audit_rows(db, "login_failed")) == 6
    assert len(audit_rows(db, "locked")) == 1
    assert not audit_rows(db, "login")


def test_login_writes_a_login_row_and_the_sidebar_says_who(db: Path) -> None:
    at = app("cadre")
    assert "王专干" in at.sidebar.markdown[1].value and "社区专干" in at.sidebar.markdown[1].value
    assert audit_rows(db, "login") == [("王专干", "cadre", "login", "登录", None, "app")]


def test_first_login_asks_for_a_new_password_before_any_page(db: Path) -> None:
    accounts.add_user(db, "周新人", "bureau", FIRST_PASSWORD)
    at = login("周新人", FIRST_PASSWORD)
    assert titles(at) == ["修改初始密码"] and not at.dataframe and not at.metric
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/registry.py")  # no page exists until the password is changed
    at.text_input(key="password_old").input(FIRST_PASSWORD)
    at.text_input(key="password_new").input("short1")
    at.text_input(key="password_again").input("short1")
    at.button(key="FormSubmitter:password_form-保存新密码").click().run()
    assert "至少 10 位" in ok(at).error[0].value
    at.text_input(key="password_old").input(FIRST_PASSWORD)
    at.text_input(key="password_new").input("newpass2025")
    at.text_input(key="password_again").input("newpass2025")
    at.button(key="FormSubmitter:password_form-保存新密码").click().run()
    assert on_page(ok(at), "pages/overview.py")
    assert not accounts.get_user(db, "周新人").must_change_password


def test_idle_session_goes_back_to_the_login_form(db: Path) -> None:
    at = app("bureau")
    login_state = at.session_state[session.K_LOGIN]
    at.session_state[session.K_LOGIN] = {
        **login_state,
        "last": time.time() - session.IDLE_SECONDS - 1,
    }
    at.run()
    assert titles(ok(at)) == ["扩面增效"] and not at.dataframe
    assert any("30 分钟" in i.value for i in at.info)
    assert audit_rows(db, "logout") == [
        ("钱人社", "bureau", "logout", "退出登录", None, "idle timeout")
    ]


def test_a_session_within_the_idle_time_stays(db: Path) -> None:
    at = app("bureau")
    at.session_state[session.K_LOGIN] = {
        **at.session_state[session.K_LOGIN],
        "last": time.time() - session.IDLE_SECONDS + 60,
    }
    assert on_page(ok(at.run()), "pages/overview.py")


def test_logout_button_ends_the_session(db: Path) -> None:
    at = app("leader")
    at.sidebar.button(key="logout").click().run()
    assert titles(ok(at)) == ["扩面增效"]
    assert audit_rows(db, "logout") == [("赵领导", "leader", "logout", "退出登录", None, "logout")]


def test_a_disabled_account_is_logged_out_at_its_next_run(db: Path) -> None:
    at = app("bureau")
    accounts.set_state(db, "钱人社", "disabled")
    at.run()
    assert titles(ok(at)) == ["扩面增效"]
    assert any("停用" in i.value for i in at.info)
    assert audit_rows(db, "logout")[-1][5] == "account disabled"


# ---------------------------------------------------------------- roles and scope


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_each_role_opens_its_pages_and_no_other(db: Path, role: str) -> None:
    at = app(role)
    assert on_page(at, ROLE_PAGES[role][0])
    for page in ROLE_PAGES[role]:
        assert on_page(goto(at, page), page)
    for page in set(PAGES) - set(ROLE_PAGES[role]):
        # Not in the navigation at all: no link, and its URL opens the home page.
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_role_and_grid_come_from_the_account_not_the_session_or_url(db: Path) -> None:
    # 李专干 works in street B; every old and new way to ask for more is ignored.
    at = app(
        "cadre_b",
        login_role="bureau",
        login_street=STREET_A,
        cadre_area=STREET_A,
        visits_street=STREET_A,
    )
    at.query_params["role"] = "bureau"
    at.query_params["street"] = STREET_A
    at.query_params["scope"] = STREET_A
    goto(at, "pages/visits.py")
    shown = at.dataframe[0].value
    assert len(shown) > 0
    assert set(shown["community_name"]) <= {
        n for c, n in COMMUNITIES.items() if c.startswith(STREET_B)
    }
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/data_import.py")
    at = goto(at, "pages/registry.py")
    at.text_input(key="registry_query").input("测试0").run()  # 测试0 lives in street A
    assert any("没有找到" in i.value for i in ok(at).info)


def test_leader_sees_no_names_or_id_numbers_anywhere(db: Path) -> None:
    everyone = query(db, "SELECT DISTINCT id_number, name FROM reg_persons")
    at = app("leader")
    for page in ROLE_PAGES["leader"]:
        text = screen_text(goto(at, page))
        assert not ID_LIKE.search(text), page
        assert not any(name in text for _, name in everyone), page


# ---------------------------------------------------------------- every page, every role


@pytest.mark.parametrize("role", ["leader", "cadre", "bureau", "admin"])
def test_every_page_runs_for_every_role(db: Path, role: str) -> None:
    at = ok(app(role))
    for page in ROLE_PAGES[role]:
        goto(at, page)


def test_no_registry_says_how_to_import_and_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None
) -> None:
    empty = tmp_path / "none.duckdb"
    add_accounts(empty)
    monkeypatch.setenv("KUOMIAN_DB", str(empty))
    at = ok(app("leader"))
    assert "kuomian build" in at.info[0].value
    at = ok(app("bureau"))  # the bureau lands on the import page
    assert titles(at) == ["数据导入与数据质量"]
    at = ok(app("admin"))  # the administrator on the accounts
    assert titles(at) == ["账号与审计"]


def test_an_unexpected_error_shows_a_chinese_message_without_details(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pages import _shared as ui

    def broken(*args, **kwargs):
        raise RuntimeError("secret 34172119800101123X")

    at = app("leader")
    monkeypatch.setattr(ui, "kpi", broken)
    at.run()
    assert not at.exception
    (error,) = at.error
    assert "页面出错" in error.value and "34172119800101123X" not in error.value


# ---------------------------------------------------------------- overview


def test_overview_metrics_equal_the_kpi_export(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "kpi.csv"
    export("kpi", db, out, level="city")
    city = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    at = ok(app("leader"))
    metrics = {m.label: m for m in at.metric}
    assert metrics["参保率"].value == f"{float(city['coverage_rate']):.2%}"
    assert metrics["结构比"].value == f"{float(city['structure_ratio']):.2%}"
    assert metrics["距2025年目标的缺口"].value == f"{int(city['coverage_gap_2025']):,} 人"
    assert metrics["距2035年目标的缺口"].value == f"{int(city['coverage_gap_2035']):,} 人"
    ranking = at.dataframe[0].value
    assert list(ranking["街道/镇"]) == ["甲街道", "乙镇"]  # 83.33% before 80.00%


def test_overview_follows_the_date_picker(db: Path) -> None:
    at = ok(app("leader"))
    at.sidebar.selectbox(key="as_of").select_index(0).run()
    (coverage,) = query(
        db,
        "SELECT k.coverage_rate FROM reg_kpi k JOIN registry_versions v "
        "USING (version) WHERE level = 'city' ORDER BY v.as_of LIMIT 1",
    )[0]
    assert {m.label: m.value for m in ok(at).metric}["参保率"] == f"{coverage:.2%}"


# ---------------------------------------------------------------- map


def test_map_draws_streets_and_a_street_shows_its_communities(db: Path) -> None:
    at = goto(app("leader"), "pages/map.py")
    charts = at.get("plotly_chart")
    assert len(charts) == 1 and len(at.dataframe) == 1
    at.radio(key="map_metric").set_value("structure_ratio").run()
    at.radio(key="map_goal_year").set_value(2035).run()
    at.selectbox(key="map_street").set_value(STREET_A).run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2
    communities = at.dataframe[1].value
    assert set(communities["代码"]) == {c for c in COMMUNITIES if c.startswith(STREET_A)}


def test_map_without_boundaries_says_so_and_shows_the_table(db: Path) -> None:
    with published.writer_lock(db, "test"):
        con = duckdb.connect(str(db))
        con.execute("DELETE FROM boundaries")
        published.publish(con, db, "test")  # as an import without boundaries would
        con.close()
    at = goto(app("leader"), "pages/map.py")
    assert any("边界数据缺失" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 0 and len(at.dataframe[0].value) == len(STREETS)


# ---------------------------------------------------------------- visits


def test_cadre_visit_list_holds_only_their_grid_with_masked_ids(db: Path) -> None:
    at = goto(app("cadre_b"), "pages/visits.py")
    shown = at.dataframe[0].value
    grid = query(
        db,
        f"SELECT id_number FROM reg_targets_ranked WHERE version = (SELECT max(version) "
        f"FROM registry_versions) AND street_code = '{STREET_B}' ORDER BY rank",
    )
    assert len(shown) == len(grid) > 0
    assert set(shown["community_name"]) <= {
        n for c, n in COMMUNITIES.items() if c.startswith(STREET_B)
    }
    text = screen_text(at)
    everyone = query(db, "SELECT id_number FROM reg_persons")
    assert not any(i in text for (i,) in everyone)  # no full ID number on screen
    assert all(m[4:14] == "*" * 10 for m in shown["id_masked"])


def test_visit_filters_narrow_the_list(db: Path) -> None:
    at = goto(app("bureau"), "pages/visits.py")
    total = len(at.dataframe[0].value)
    at.selectbox(key="visits_type").set_value("upgrade").run()
    upgrades = ok(at).dataframe[0].value
    assert 0 < len(upgrades) < total and set(upgrades["target_label"]) == {"升级"}
    at.selectbox(key="visits_group").set_value(4).run()
    assert set(ok(at).dataframe[0].value["groups_text"]) == {"4 新就业形态劳动者"}
    at.number_input(key="visits_min_score").set_value(0.99).run()
    assert ok(at).dataframe[0].value.empty


def test_a_long_visit_list_shows_its_first_rows_and_downloads_them_all(
    db: Path, downloads: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A city's list is too long for a screen: the table lists the first rows in
    rank order and says how many there are; the CSV carries every row."""
    whole = ok(goto(app("bureau"), "pages/visits.py")).dataframe[0].value
    monkeypatch.setattr(ui, "SCREEN_ROWS", 3)
    at = goto(app("bureau"), "pages/visits.py")
    shown = at.dataframe[0].value
    assert list(shown["grid_rank"]) == [1, 2, 3] and len(whole) > 3
    assert list(shown["rank"]) == list(whole["rank"].head(3))
    assert any(f"屏幕上列出前 3 人（共 {len(whole):,} 人）" in c.value for c in at.caption)
    table = list(
        csv.DictReader(io.StringIO(fetch(at, downloads, "visits_csv").decode("utf-8-sig")))
    )
    assert len(table) == len(whole)


def test_downloading_the_visit_sheet_is_logged(db: Path, downloads: dict) -> None:
    at = goto(app("cadre"), "pages/visits.py")
    rows = len(at.dataframe[0].value)
    assert not audit_rows(db, "export")  # showing the list is not an export
    sheet = openpyxl.load_workbook(io.BytesIO(fetch(at, downloads, "visits_download")))
    assert "走访清单" in str(sheet.active["A1"].value)
    ((user, role, _, what, n, detail),) = audit_rows(db, "export")
    assert (user, role, n) == ("王专干", "cadre", rows)
    assert what.startswith("走访清单 甲街道") and "格式=xlsx" in what and STREET_A in detail


def test_the_visit_list_csv_has_full_ids_and_is_logged_with_its_filters(
    db: Path, downloads: dict
) -> None:
    at = goto(app("cadre"), "pages/visits.py")
    at.selectbox(key="visits_type").set_value("upgrade").run()
    shown = ok(at).dataframe[0].value
    data = fetch(at, downloads, "visits_csv")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel and WPS
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(table) == len(shown) > 0 and {r["对象类型"] for r in table} == {"升级"}
    assert all(len(r["身份证号"]) == 18 and "*" not in r["身份证号"] for r in table)
    ((_, _, _, what, n, _),) = audit_rows(db, "export")
    assert n == len(shown) and "类型=升级" in what and "格式=csv" in what
    assert not ID_LIKE.search(what)


def test_recording_a_visit_updates_the_list(db: Path) -> None:
    at = goto(app("cadre"), "pages/visits.py")
    first = at.dataframe[0].value.iloc[0]
    at.selectbox(key="visit_result").set_value("同意参保")
    at.text_input(key="visit_phone").input("13900002222")
    at.form_submit_button[0].click().run()
    ok(at)
    assert any("已保存" in s.value for s in at.success)
    shown = at.dataframe[0].value
    row = shown[shown["name"] == first["name"]].iloc[0]
    assert row["survey_result"] == "同意参保" and row["phone_masked"] == "139****2222"
    assert app_query(db, "SELECT count(*) FROM visits WHERE as_of IS NOT NULL") == [(1,)]
    ((user, _, _, what, _, detail),) = audit_rows(db, "visit")
    assert user == "王专干" and "同意参保" in what
    person = query(db, f"SELECT id_number FROM reg_persons WHERE name = '{first['name']}'")[0][0]
    assert detail == f"person {person[:6]}********{person[-4:]}"


def person_number(name: str) -> int:
    """``i`` of the tiny region's person named ``测试<i>``."""
    return int(name.removeprefix("测试"))


def errors_under(at: AppTest, key: str) -> list[str]:
    """The error messages drawn right under the widget ``key`` (in its column)."""
    for block in (*at.columns, *at.get("form")):
        nodes = list(block.children.values())
        for n, node in enumerate(nodes):
            if getattr(node, "key", None) == key:
                found = []
                for after in nodes[n + 1 :]:
                    if not isinstance(after, Error):
                        break
                    found.append(after.value)
                return found
    raise AssertionError(f"no widget {key}")


def sheet_rows(data: bytes) -> list[dict]:
    """The printable visit sheet's people, by header."""
    cells = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    header = [str(c) for c in cells[2]]
    return [dict(zip(header, row)) for row in cells[3:]]


def test_the_visit_list_and_its_sheet_say_where_each_target_lives(
    db: Path, downloads: dict
) -> None:
    at = goto(app("cadre"), "pages/visits.py")
    shown = at.dataframe[0].value
    assert len(shown) > 0
    assert list(shown["address"]) == [hukou_address(person_number(n)) for n in shown["name"]]
    sheet = sheet_rows(fetch(at, downloads, "visits_download"))
    assert [r["姓名"] for r in sheet] == list(shown["name"])
    assert all(r["地址"] == hukou_address(person_number(r["姓名"])) for r in sheet)
    # 上次走访 is the last visit's date and result: 测试0 was surveyed on 2025-05-10.
    last = {r["姓名"]: r["上次走访"] for r in sheet}
    assert last.pop("测试0") == "2025-05-10 考虑中" and set(last.values()) == {None}
    assert next(r for r in sheet if r["姓名"] == "测试0")["联系电话"] == "13812345678"
    csv_rows = list(
        csv.DictReader(io.StringIO(fetch(at, downloads, "visits_csv").decode("utf-8-sig")))
    )
    assert [r["地址"] for r in csv_rows] == list(shown["address"])


def test_the_residence_address_comes_before_the_hukou_address(db: Path, downloads: dict) -> None:
    from analytics.ingest import import_batches
    from analytics.registry.build import build_registry

    movers = [0, 1]  # two targets of street A who hold a 居住证 (residence permit)
    moved = {i: f"甲街道幸福路{i + 100}号" for i in movers}
    residence = [["身份证号", "姓名", "居住地址编码", "居住地址"]]
    residence += [[person_id(i), f"测试{i}", community_of(i), moved[i]] for i in movers]
    batch = make_batch(db.parent / "more", "居住证", {"居住证.csv": residence})
    import_batches([batch], db=db)
    build_registry(db)
    at = goto(app("cadre"), "pages/visits.py")
    shown = at.dataframe[0].value.set_index("name")
    for name, address in shown["address"].items():
        i = person_number(name)
        assert address == moved.get(i, hukou_address(i))
    sheet = {r["姓名"]: r["地址"] for r in sheet_rows(fetch(at, downloads, "visits_download"))}
    assert {sheet[f"测试{i}"] for i in movers} == set(moved.values())
    at = goto(at, "pages/registry.py")
    at.text_input(key="registry_query").input("测试1").run()
    text = screen_text(ok(at))
    assert f"**居住地址**：{moved[1]}" in text and f"**户籍地址**：{hukou_address(1)}" in text


def test_the_person_card_shows_addresses_phone_and_last_visit(db: Path) -> None:
    at = goto(app("cadre"), "pages/registry.py")
    at.text_input(key="registry_query").input("测试0").run()
    text = screen_text(ok(at))
    assert f"**户籍地址**：{hukou_address(0)}" in text and "**居住地址**：—" in text
    assert "**联系电话**：138****5678" in text and "13812345678" not in text
    assert "**上次走访**：2025年5月10日 考虑中（共 1 次）" in text


def test_the_visit_result_has_no_default_and_is_required(db: Path) -> None:
    at = goto(app("cadre"), "pages/visits.py")
    result = at.selectbox(key="visit_result")
    assert result.value is None and result.index is None
    at.text_input(key="visit_willingness").input("愿意")
    at.form_submit_button[0].click().run()
    assert errors_under(ok(at), "visit_result") == ["请选择调查结果"]
    assert at.text_input(key="visit_willingness").value == "愿意"
    assert not at.success and app_query(db, "SELECT count(*) FROM visits") == [(0,)]
    assert not audit_rows(db, "visit")


def test_a_bad_phone_is_an_error_at_its_field_and_the_form_keeps_what_was_typed(
    db: Path,
) -> None:
    at = goto(app("cadre"), "pages/visits.py")
    second = at.selectbox(key="visit_who").options[1]  # the second of the list
    who = list(at.dataframe[0].value["name"])[1]
    at.selectbox(key="visit_who").set_value(person_id(person_number(who)))
    at.date_input(key="visit_date").set_value(dt.date.today() - dt.timedelta(days=1))
    at.selectbox(key="visit_result").set_value("同意参保")
    at.text_input(key="visit_willingness").input("愿意")
    at.selectbox(key="visit_ability").set_value("一般")
    at.text_input(key="visit_phone").input("abc123")
    at.text_input(key="visit_reason").input("没听说过")
    at.form_submit_button[0].click().run()
    ok(at)
    (message,) = errors_under(at, "visit_phone")
    assert "联系电话" in message
    assert [e.value for e in at.error] == [message]  # at the field, nowhere else
    kept = {
        "visit_result": at.selectbox(key="visit_result").value,
        "visit_ability": at.selectbox(key="visit_ability").value,
        "visit_who": at.selectbox(key="visit_who").index,
        "visit_date": at.date_input(key="visit_date").value,
        "visit_willingness": at.text_input(key="visit_willingness").value,
        "visit_phone": at.text_input(key="visit_phone").value,
        "visit_reason": at.text_input(key="visit_reason").value,
        "visit_surveyor": at.text_input(key="visit_surveyor").value,
    }
    assert kept == {
        "visit_result": "同意参保",
        "visit_ability": "一般",
        "visit_who": 1,
        "visit_date": dt.date.today() - dt.timedelta(days=1),
        "visit_willingness": "愿意",
        "visit_phone": "abc123",
        "visit_reason": "没听说过",
        "visit_surveyor": "王专干",
    }
    assert app_query(db, "SELECT count(*) FROM visits") == [(0,)]
    at.text_input(key="visit_phone").input("139-0000-2222")
    at.form_submit_button[0].click().run()
    ok(at)
    assert not at.error and any(second.split("（")[0] in s.value for s in at.success)
    ((name, result, willingness, ability, phone, reason),) = app_query(
        db, "SELECT name, result, willingness, ability_to_pay, phone, reason FROM visits"
    )
    assert (name, result, willingness, ability, phone, reason) == (
        who,
        "同意参保",
        "愿意",
        "一般",
        "139-0000-2222",
        "没听说过",
    )
    # Saved: the form is empty again for the next visit.
    assert at.selectbox(key="visit_result").value is None
    assert at.text_input(key="visit_phone").value == ""


def test_a_visit_recorded_on_the_card_shows_on_the_card(db: Path) -> None:
    at = goto(app("cadre"), "pages/registry.py")
    at.text_input(key="registry_query").input("测试4").run()
    ok(at)
    assert at.selectbox(key="card_visit_result").value is None
    at.selectbox(key="card_visit_result").set_value("拒绝")
    at.text_input(key="card_visit_phone").input("1391234")
    at.button(key="FormSubmitter:card_visit_form-保存走访结果").click().run()
    ok(at)
    assert errors_under(at, "card_visit_phone") == []
    assert any("已保存 测试4" in s.value for s in at.success)
    text = screen_text(at)
    today = dt.date.today()
    assert f"**上次走访**：{today.year}年{today.month}月{today.day}日 拒绝（共 1 次）" in text
    assert "**联系电话**：***" in text  # seven digits: masked whole
    visits = at.dataframe[-1].value
    assert list(visits["调查结果"]) == ["拒绝"]
    (row,) = audit_rows(db, "visit")
    assert row[0] == "王专干" and "拒绝" in row[3]


# ---------------------------------------------------------------- registry


def test_registry_search_opens_a_card(db: Path) -> None:
    at = goto(app("bureau"), "pages/registry.py")
    at.text_input(key="registry_query").input("测试0").run()
    ok(at)
    assert at.subheader[0].value.startswith("测试0")
    text = screen_text(at)
    assert "考虑中" in text and "138****5678" in text and "13812345678" not in text


def test_opening_a_card_writes_one_person_view_with_the_id_masked(db: Path) -> None:
    (person,) = query(db, "SELECT DISTINCT id_number FROM reg_persons WHERE name = '测试0'")[0]
    at = goto(app("bureau"), "pages/registry.py")
    at.text_input(key="registry_query").input("测试0").run()
    ok(at).run()  # a rerun of the same card is not another view
    ((user, role, _, what, n, detail),) = audit_rows(db, "person_view")
    assert (user, role, n) == ("钱人社", "bureau", 1) and what.startswith("人员卡片")
    assert detail == f"{person[:6]}********{person[-4:]}"
    assert person not in " ".join(str(c) for r in audit_rows(db) for c in r)


def test_search_results_and_the_card_download_are_logged(db: Path, downloads: dict) -> None:
    at = goto(app("bureau"), "pages/registry.py")
    at.text_input(key="registry_query").input("测试").run()
    found = next(c.value for c in ok(at).caption if c.value.startswith("找到"))
    results = fetch(at, downloads, "registry_results_csv").decode("utf-8-sig")
    card = fetch(at, downloads, "registry_card_csv").decode("utf-8-sig")
    assert "身份证号" in results and "参保情况" in card
    (results_row, card_row) = audit_rows(db, "export")
    assert results_row[3].startswith("实名库查询结果") and "测试" not in results_row[3]
    assert str(results_row[4]) in found
    assert card_row[3].startswith("人员卡片") and card_row[4] == 1
    assert not ID_LIKE.search(card_row[3])


def test_registry_search_stays_in_the_cadres_grid(db: Path) -> None:
    at = goto(app("cadre_b"), "pages/registry.py")
    at.text_input(key="registry_query").input("测试0").run()  # 测试0 lives in street A
    assert any("没有找到" in i.value for i in ok(at).info)


# ---------------------------------------------------------------- data import


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f"{folder.name}/{f.name}")
    return buf.getvalue()


def test_import_page_imports_builds_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None
) -> None:
    target = tmp_path / "fresh.duckdb"
    add_accounts(target)
    monkeypatch.setenv("KUOMIAN_DB", str(target))
    folders = write_batches(tmp_path / "batches")
    at = ok(app("bureau"))
    at.file_uploader[0].set_value([(f"{f.name}.zip", _zip(f), "application/zip") for f in folders])
    at.form_submit_button[0].click().run()
    ok(at)
    assert any("已导入" in s.value for s in at.success), [e.value for e in at.error]
    report = at.dataframe[0].value
    assert (report["读取"] == report["接收"] + report["重复"] + report["问题"]).all()
    assert query(target, "SELECT count(*) FROM registry_versions") == [(2,)]
    # The problem data of the build: the 17-digit ID of the second batch.
    assert "身份证号：身份证号错误" in screen_text(at)
    assert [r[:3] for r in audit_rows(target) if r[2] in ("import", "build")] == [
        ("钱人社", "bureau", "import"),
        ("钱人社", "bureau", "build"),
    ]
    assert audit_rows(target, "import")[0][4] == int(report["接收"].sum())


def test_problem_data_download_is_logged(db: Path, downloads: dict) -> None:
    at = goto(app("bureau"), "pages/data_import.py")
    data = fetch(at, downloads, "problems_download").decode("utf-8-sig")
    assert "invalid_id" in data
    ((user, _, _, what, n, _),) = audit_rows(db, "export")
    assert user == "钱人社" and what.startswith("问题数据")
    assert n == len(list(csv.DictReader(io.StringIO(data)))) > 0


def test_import_page_shows_a_rejected_batch(db: Path, tmp_path: Path) -> None:
    before = query(db, "SELECT count(*) FROM import_files")
    at = goto(app("bureau"), "pages/data_import.py")
    bad = "姓名,户籍地址编码\n张三,530181001001\n".encode()
    at.file_uploader[0].set_value([("户籍人口.csv", bad, "text/csv")])
    at.form_submit_button[0].click().run()
    ok(at)
    assert any("导入被拒绝" in e.value and "户籍人口.csv" in e.value for e in at.error)
    assert query(db, "SELECT count(*) FROM import_files") == before


# ---------------------------------------------------------------- accounts and audit


def test_admin_page_lists_the_accounts(db: Path) -> None:
    at = app("admin")
    table = at.dataframe[0].value
    assert set(table["账号"]) == {name for name, _, _ in ACCOUNTS.values()}
    row = table[table["账号"] == "李专干"].iloc[0]
    assert (row["角色"], row["网格"], row["状态"]) == ("社区专干", STREET_B, "正常")


def test_admin_adds_an_account_only_with_a_policy_password(db: Path) -> None:
    at = app("admin")
    submit = "FormSubmitter:admin_add-新增账号"
    at.text_input(key="admin_add_name").input("吴专干")
    at.selectbox(key="admin_add_role").set_value("cadre")
    at.text_input(key="admin_add_scope").input(COMMUNITY_CODES[0])
    at.text_input(key="admin_add_password").input("onlyletters")
    at.button(key=submit).click().run()
    assert "字母和数字" in ok(at).error[0].value and accounts.get_user(db, "吴专干") is None
    at.text_input(key="admin_add_name").input("吴专干")
    at.selectbox(key="admin_add_role").set_value("cadre")
    at.text_input(key="admin_add_scope").input(COMMUNITY_CODES[0])
    at.text_input(key="admin_add_password").input("first2025pw")
    at.button(key=submit).click().run()
    assert any("已新增账号 吴专干" in s.value for s in ok(at).success)
    made = accounts.get_user(db, "吴专干")
    assert made.scope == (COMMUNITY_CODES[0],) and made.must_change_password
    assert audit_rows(db, "user_change")[-1][:3] == ("孙管理", "admin", "user_change")


def test_admin_disables_unlocks_and_resets(db: Path) -> None:
    for _ in range(5):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(db, "王专干", "wrong2025pass")
    at = app("admin")
    at.selectbox(key="admin_who").set_value("王专干").run()
    at.button(key="admin_unlock").click().run()
    ok(at)
    assert accounts.get_user(db, "王专干").failed_attempts == 0
    at.button(key="admin_disable").click().run()
    assert accounts.get_user(db, "王专干").state == "disabled"
    at.button(key="admin_enable").click().run()
    at.text_input(key="admin_reset_password").input("reset2025pw")
    at.button(key="FormSubmitter:admin_reset-重置密码").click().run()
    assert accounts.get_user(db, "王专干").must_change_password
    whats = [r[3] for r in audit_rows(db, "user_change") if r[0] == "孙管理"]
    assert [w.split()[1] for w in whats[-4:]] == ["unlock", "disable", "enable", "passwd"]
    assert all(w.endswith("王专干") for w in whats[-4:])


def test_admin_filters_the_audit_log_and_its_download_is_logged(db: Path, downloads: dict) -> None:
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate(db, "李专干", "wrong2025pass")
    app("cadre")  # a login of 王专干
    at = app("admin")
    at.selectbox(key="audit_action").set_value("login_failed").run()
    log = ok(at).dataframe[1].value
    assert list(log["用户"]) == ["李专干"] and set(log["操作"]) == {"登录失败"}
    at.selectbox(key="audit_action").set_value(ui_all()).run()
    at.selectbox(key="audit_user").set_value("王专干").run()
    log = ok(at).dataframe[1].value
    assert set(log["用户"]) == {"王专干"} and "登录" in set(log["操作"])
    at.date_input(key="audit_dates").set_value((dt.date(2020, 1, 1), dt.date(2020, 1, 2))).run()
    assert ok(at).dataframe[1].value.empty
    at.date_input(key="audit_dates").set_value((dt.date.today(), dt.date.today())).run()
    book = openpyxl.load_workbook(io.BytesIO(fetch(ok(at), downloads, "audit_download")))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("时间", "用户", "角色", "操作", "内容", "行数", "详情")
    assert {r[1] for r in rows[1:]} == {"王专干"}
    (row,) = audit_rows(db, "export")
    assert row[:2] == ("孙管理", "admin") and "用户=王专干" in row[3] and row[4] == len(rows) - 1


def ui_all() -> str:
    from pages import _shared as ui

    return ui.ALL


def test_a_page_run_alone_asks_for_a_login_first(db: Path) -> None:
    # Streamlit runs a file of pages/ alone when a server process's first run asks
    # for it: the page asks for the login itself.
    at = AppTest.from_file(str(Path(APP).parent / "pages" / "visits.py"), default_timeout=TIMEOUT)
    at.run()
    assert titles(ok(at)) == ["扩面增效"] and not at.dataframe
    ok(submit_login(at, "李专干", PASSWORD))
    shown = at.dataframe[0].value
    assert set(shown["community_name"]) <= {
        n for c, n in COMMUNITIES.items() if c.startswith(STREET_B)
    }
