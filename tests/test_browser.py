"""End to end in a real browser: Debian's headless Chromium drives the app.

Starts ``streamlit run app.py`` on a free port against the tiny built region,
logs in through the form with a bureau account made by ``kuomian user add``,
opens every page (a screenshot of each goes to
``test-artifacts/``), clicks a street on the map and checks its communities
appear, downloads a visit list, reads the .xlsx and finds the download in the audit
log, and checks that the page
asked nothing of any host but this one (the app must work offline); and walks
a cadre's day: the overview, the visit list filtered and printed, a person's
card, a visit recorded with a typo that is shown at its field, fixed and saved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.browser

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    # `make test` installs them; without them this is a broken setup, not a skip.
    pytest.fail("Debian chromium and chromium-driver are needed: run `make test`", pytrace=False)

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).parent))
from tinyregion import COMMUNITIES, STREETS, build_tiny_db, hukou_address

from analytics import accounts, store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


USER, PASSWORD = "钱人社", "browser2025ok"
CADRE = ("王专干", "cadre", [next(iter(STREETS))])
LEADER = ("赵领导", "leader", [])
ID_LIKE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx*](?![0-9])|[0-9]{6}\*{8}[0-9]{3}[0-9Xx]")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny region with a bureau account, made as the operator would: through
    `kuomian user add`, the password on stdin (and its first change done)."""
    db = build_tiny_db(tmp_path_factory.mktemp("browser"))
    subprocess.run(
        [sys.executable, "-m", "analytics.cli", "user", "add", USER, "--role", "bureau"]
        + ["--db", str(db)],
        input="first2025pw\n",
        text=True,
        check=True,
        cwd=ROOT,
    )
    accounts.change_password(db, USER, "first2025pw", PASSWORD)
    for name, role, scope in (CADRE, LEADER):
        accounts.add_user(db, name, role, "first2025pw", scope)
        accounts.change_password(db, name, "first2025pw", PASSWORD)
    return db


@pytest.fixture(scope="module")
def app_url(database: Path) -> Iterator[str]:
    db = database
    port = _free_port()
    env = {**os.environ, "KUOMIAN_DB": str(db)}
    ARTIFACTS.mkdir(exist_ok=True)
    # The server's log goes to a file: a pipe nobody reads fills up and stalls it.
    log = (ARTIFACTS / "streamlit.log").open("w")
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
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[webdriver.Chrome, Path]]:
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1600,1100",
        f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver, downloads
    finally:
        driver.quit()


def _wait_text(driver: webdriver.Chrome, text: str, timeout: float = 30) -> None:
    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element(By.TAG_NAME, "body").text)


def _settled(driver: webdriver.Chrome, quiet: float = 1.5, timeout: float = 60) -> None:
    """Wait until the page has stopped changing for ``quiet`` seconds (the script
    has finished its run and the front end has drawn it)."""
    deadline = time.time() + timeout
    last, since = None, time.time()
    while time.time() < deadline:
        now = driver.find_element(By.TAG_NAME, "body").text
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        if now != last or running:
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            return
        time.sleep(0.25)


def _open_page(driver: webdriver.Chrome, title: str) -> None:
    for link in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]'):
        if title in link.text:
            link.click()
            _settled(driver)
            return
    raise AssertionError(f"no page {title} in the navigation")


def _shot(driver: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def _login(driver: webdriver.Chrome, url: str, user: str, expect: str, shot: str = "") -> None:
    """A new session (a fresh page load) logged in through the form as ``user``."""
    driver.get(url)
    _wait_text(driver, "用户名")
    _settled(driver)
    if shot:
        _shot(driver, shot)
    # A key typed while the first run is still being drawn can be lost: try the
    # login a few times before calling it a failure.
    for _ in range(5):
        name, password = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stTextInput"] input')
        name.clear()
        name.send_keys(user)
        password.clear()
        password.send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
        _settled(driver)
        if expect in driver.find_element(By.TAG_NAME, "body").text:
            break
    _wait_text(driver, expect, timeout=5)
    _wait_text(driver, "退出登录", timeout=5)


def _download_xlsx(driver: webdriver.Chrome, downloads: Path) -> openpyxl.Workbook:
    for old in downloads.glob("*"):
        old.unlink()
    button = WebDriverWait(driver, 30).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stDownloadButton"] button'))
    )
    button.click()
    deadline = time.time() + 30
    files: list[Path] = []
    while time.time() < deadline:
        files = list(downloads.glob("*.xlsx"))
        if files and not list(downloads.glob("*.crdownload")):
            break
        time.sleep(0.3)
    assert files, "no .xlsx was downloaded"
    return openpyxl.load_workbook(files[0])


def test_a_cadre_sees_their_street_and_a_leader_sees_no_names(
    app_url: str, browser, database: Path
) -> None:
    driver, downloads = browser
    name, _, (street,) = CADRE
    mine = {n for c, n in COMMUNITIES.items() if c.startswith(street)}
    others = {n for c, n in COMMUNITIES.items() if not c.startswith(street)}
    _login(driver, app_url, name, "走访清单")
    _open_page(driver, "地图")  # opens on the cadre's own street
    _wait_text(driver, f"{STREETS[street]}：各社区/村")
    _shot(driver, "7-专干-地图")
    _open_page(driver, "走访清单")
    # Tables are drawn on a canvas: the downloaded sheet is what can be read.
    sheet = _download_xlsx(driver, downloads).active
    text = "\n".join(
        " ".join(str(c) for c in row if c is not None) for row in sheet.iter_rows(values_only=True)
    )
    assert any(n in text for n in mine) and not any(n in text for n in others)
    _shot(driver, "8-专干-走访清单")

    leader, _, _ = LEADER
    _login(driver, app_url, leader, "总览")
    links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    titles = [link.text for link in links]
    assert not any(t in " ".join(titles) for t in ("走访清单", "实名库", "名册", "数据导入"))
    for title in ("总览", "地图"):
        _open_page(driver, title)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert not ID_LIKE.search(body), "an ID number on a leader's page"
        assert "测试" not in body  # the tiny region's people are all named 测试<i>
    _shot(driver, "9-领导-总览")


def test_every_page_map_click_and_visit_list_download(
    app_url: str, browser, database: Path
) -> None:
    driver, downloads = browser
    _login(driver, app_url, USER, "数据导入", shot="0-login")

    pages = {
        "总览": "扩面增效总览",
        "地图": "扩面地图",
        "走访清单": "走访清单",
        "实名库": "实名库",
        "数据导入": "数据导入",
    }
    for i, (title, heading) in enumerate(pages.items()):
        _open_page(driver, title)
        _wait_text(driver, heading)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Traceback" not in body and "Error" not in body, body[:2000]
        assert _shot(driver, f"{i + 1}-{title}").stat().st_size > 10_000

    # The map: click the first street; its communities' map appears.
    _open_page(driver, "地图")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "path.choroplethlocation")
    )
    street = driver.find_elements(By.CSS_SELECTOR, "path.choroplethlocation")[0]
    ActionChains(driver).move_to_element(street).click().perform()
    _settled(driver)
    _wait_text(driver, "各社区/村")
    _shot(driver, "6-地图-点击街道")

    # The visit list: download the printable sheet and read it.
    _open_page(driver, "走访清单")
    sheet = _download_xlsx(driver, downloads).active
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    text = "\n".join(" ".join(str(c) for c in row if c is not None) for row in cells)
    assert "走访清单" in text and "2025" in text
    header = next(row for row in cells if row and "走访日期" in [str(c) for c in row])
    assert {"走访日期", "结果", "签名"} <= {str(c) for c in header}
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == "9"  # A4
    data_rows = [row for row in cells[cells.index(header) + 1 :] if row and row[0] is not None]
    assert len(data_rows) > 0
    # ID numbers are masked on the printed list too.
    assert all("*" in str(row[[str(c) for c in header].index("身份证号")]) for row in data_rows)
    # The download is in the audit log, with the account that made it.
    exports = store.app_rows(
        database,
        'SELECT "user", role, what, "rows" FROM audit WHERE action = \'export\' AND "user" = ?',
        [USER],
    )
    assert [(u, r) for u, r, _, _ in exports] == [(USER, "bureau")]
    assert exports[0][2].startswith("走访清单") and exports[0][3] == len(data_rows)

    # Offline: every request went to this app (or was inline data).
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.startswith(
                (app_url, app_url.replace("http", "ws"))
            ):
                hosts.add(url.split("/")[2])
    assert not hosts, f"requests left this machine: {sorted(hosts)}"


def _widget(driver: webdriver.Chrome, testid: str, label: str):
    """The widget of ``testid`` (e.g. stSelectbox) whose label is ``label``."""
    for el in driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]'):
        if el.find_element(By.CSS_SELECTOR, "label").text.strip() == label:
            return el
    raise AssertionError(f"no {testid} labelled {label}")


def _choose(driver: webdriver.Chrome, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``. A click while the page
    is still being redrawn can be lost (the listbox never opens on a busy
    machine): click again, up to three times."""

    def listed(d: webdriver.Chrome) -> bool:
        return any(o.text == option for o in d.find_elements(By.CSS_SELECTOR, '[role="option"]'))

    for attempt in range(3):
        _settled(driver)
        _widget(driver, "stSelectbox", label).find_element(
            By.CSS_SELECTOR, 'button[aria-haspopup="listbox"]'
        ).click()
        try:
            WebDriverWait(driver, 15).until(listed)
            break
        except TimeoutException:
            if attempt == 2:
                raise
    next(
        o for o in driver.find_elements(By.CSS_SELECTOR, '[role="option"]') if o.text == option
    ).click()


def _type(driver: webdriver.Chrome, label: str, text: str) -> None:
    box = _widget(driver, "stTextInput", label).find_element(By.CSS_SELECTOR, "input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def _value(driver: webdriver.Chrome, label: str, testid: str = "stTextInput") -> str:
    """What the text box (or the selectbox's box) labelled ``label`` shows."""
    box = _widget(driver, testid, label).find_element(By.CSS_SELECTOR, "input")
    return box.get_attribute("value")


def _under(driver: webdriver.Chrome, testid: str, label: str) -> str:
    """The text drawn right under the widget: the element after it in its column."""
    widget = _widget(driver, testid, label)
    return driver.execute_script(
        "const box = arguments[0].closest('[data-testid=\"stElementContainer\"]');"
        "const next = box && box.nextElementSibling;"
        "return next && next.querySelector('[data-testid=\"stAlert\"]') ? next.innerText : '';",
        widget,
    )


def _body(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def test_a_cadres_day_list_print_card_and_a_visit_with_a_typo(
    app_url: str, browser, database: Path
) -> None:
    driver, downloads = browser
    name, _, (street,) = CADRE
    mine = {n for c, n in COMMUNITIES.items() if c.startswith(street)}
    _login(driver, app_url, name, "走访清单")
    # The day starts on the overview of the cadre's street.
    _wait_text(driver, "扩面增效总览")
    assert "参保率" in _body(driver)
    _shot(driver, "10-专干-总览")

    # The visit list, filtered to the upgrade targets, printed and read.
    _open_page(driver, "走访清单")
    _choose(driver, "对象类型", "升级")
    _settled(driver)
    _wait_text(driver, "升级")
    count = re.search(r"共 (\d+) 人", _body(driver))
    assert count, _body(driver)[:500]
    sheet = _download_xlsx(driver, downloads).active
    cells = list(sheet.iter_rows(values_only=True))
    header = [str(c) for c in cells[2]]
    people = [dict(zip(header, row)) for row in cells[3:]]
    assert len(people) == int(count.group(1)) > 0
    assert {p["对象类型"] for p in people} == {"升级"}
    assert {p["社区/村"] for p in people} <= mine
    for p in people:
        assert p["地址"] == hukou_address(int(p["姓名"].removeprefix("测试")))
    _shot(driver, "11-专干-走访清单-升级")

    # A person's card, found in 实名库: where they live, no visit yet.
    person = people[0]["姓名"]
    i = int(person.removeprefix("测试"))
    _open_page(driver, "实名库")
    box = _widget(driver, "stTextInput", "身份证号或姓名").find_element(By.CSS_SELECTOR, "input")
    box.send_keys(person, Keys.ENTER)
    _settled(driver)
    _wait_text(driver, f"户籍地址：{hukou_address(i)}")
    assert "上次走访：还没有走访" in _body(driver)

    # A visit with a typo in the phone: the error under the phone, the rest kept.
    _choose(driver, "调查结果", "同意参保")
    _type(driver, "参保意愿", "愿意")
    _type(driver, "联系电话", "139abc123")
    _type(driver, "未参保原因", "以为要一次交很多")
    driver.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
    _settled(driver)
    _wait_text(driver, "联系电话格式不对")
    assert "联系电话格式不对" in _under(driver, "stTextInput", "联系电话")
    assert _value(driver, "参保意愿") == "愿意"
    assert _value(driver, "未参保原因") == "以为要一次交很多"
    assert _value(driver, "联系电话") == "139abc123"
    assert _value(driver, "调查结果", "stSelectbox") == "同意参保"
    assert "已保存" not in _body(driver)
    _shot(driver, "12-专干-走访-电话有误")

    # Fixed and saved: the card shows the visit.
    _type(driver, "联系电话", "13912345678")
    driver.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
    _settled(driver)
    _wait_text(driver, "已保存")
    body = _body(driver)
    today = dt.date.today()
    assert f"上次走访：{today.year}年{today.month}月{today.day}日 同意参保（共 1 次）" in body
    assert "联系电话：139****5678" in body and "13912345678" not in body
    assert "联系电话格式不对" not in body
    # The form is ready for the next visit.
    assert _value(driver, "联系电话") == "" and _value(driver, "调查结果", "stSelectbox") == ""
    _shot(driver, "13-专干-走访-已保存")
    visits = store.app_rows(
        database, "SELECT name, result, willingness, phone, surveyor FROM visits"
    )
    assert visits == [(person, "同意参保", "愿意", "13912345678", name)]
