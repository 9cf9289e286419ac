"""A live server per test, the system Chromium, and a page that is watched while it runs.

Each test gets its own database (the ``app`` fixture), with real commits: every test here is
marked ``real_commits``, since the server's threads read what the test and the browser committed.
It is served by werkzeug on 127.0.0.1 on a free port. The browser is Debian's Chromium (no Playwright download: the network is closed). Every
page is watched: a request to any other host is aborted and recorded, and so are JavaScript
errors (``pageerror``) and console errors; a test with any of them fails.
"""

import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import PASSWORD
from tests.tools import missing_tool

LOCAL_HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Auto-waiting assertions give up after this long: the server is local, pages are small.
EXPECT_TIMEOUT_MS = 5_000


def chromium_path() -> str | None:
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium")


class Watch:
    """What a page did that nobody should see: requests off this machine, JavaScript errors."""

    def __init__(self):
        self.external: list[str] = []
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self._expected: list[str] = []

    def expect_console_error(self, fragment: str) -> None:
        """A console error the journey provokes on purpose (the browser logs a 404 response)."""
        self._expected.append(fragment)

    def on_console(self, message) -> None:
        if message.type == "error":
            text = message.text
            location = message.location or {}
            self.console_errors.append(f"{text} ({location.get('url', '')})")

    def on_page_error(self, error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def unexpected_console_errors(self) -> list[str]:
        return [text for text in self.console_errors
                if not any(fragment in text for fragment in self._expected)]

    def assert_clean(self) -> None:
        assert self.external == [], f"requests left 127.0.0.1: {self.external}"
        assert self.page_errors == [], f"JavaScript errors: {self.page_errors}"
        unexpected = self.unexpected_console_errors()
        assert unexpected == [], f"console errors: {unexpected}"


E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test in this folder is an e2e test, even one that forgets its ``pytestmark``."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.real_commits)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test body, the page must have stayed local and error-free.

    Checked in the call phase (not in fixture teardown), so a failure is the test's own and
    ``xfail`` applies to it like to any other assertion.
    """
    result = yield
    watch = item.funcargs.get("watch")
    if watch is not None:
        watch.assert_clean()
    return result


@pytest.fixture
def live_server(app):
    """The test's app on http://127.0.0.1:<free port>, shut down and closed afterwards."""
    server = make_server(LOCAL_HOST, 0, app, threaded=True)
    # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        missing_tool(f"e2e: no Chromium at {CHROMIUM} nor on PATH (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                                 args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            missing_tool(f"e2e: Chromium at {executable} did not launch: {error.message}")
        expect.set_options(timeout=EXPECT_TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def watch():
    return Watch()


@pytest.fixture
def page(browser, live_server, watch):
    """A fresh context (cookies, cache) per test, in Japanese and Tokyo time, kept local."""
    context = browser.new_context(base_url=live_server, locale="ja-JP",
                                  timezone_id="Asia/Tokyo", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(EXPECT_TIMEOUT_MS)

    def keep_local(route):
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            watch.external.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", keep_local)
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    try:
        yield page
    finally:
        context.close()


def log_in(page, role: str, password: str = PASSWORD) -> None:
    """Through the real login form, as ``test-<role>``; ends on the panel's home page."""
    if urlsplit(page.url).path != "/login":
        page.goto("/login")
    page.get_by_label("ログインID").fill(f"test-{role}")
    page.get_by_label("パスワード").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def navigate(page, locator) -> None:
    """Click a link or button and wait until the page it leads to has loaded.

    Loaded means its scripts have run: a click before Bootstrap or Flask-Admin's form.js is ready
    would open no menu or call an undefined ``faForm``.
    """
    with page.expect_navigation():
        locator.click()
