"""The panel as production runs it: gunicorn, two workers, PostgreSQL, the shipped settings.

Two people work at once, so both workers serve them: each logs in, edits a case and exports the
ledger, and a CSRF token or session cookie made by one worker is honoured by the other.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from kyogikai.app import create_app
from kyogikai.models import Agency, AgencyCategory, Case, Role, User, Woman, db
from kyogikai.policy.authentication import hash_password
from tests.conftest import FAST_ARGON2, PASSWORD, PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="gunicorn runs against PostgreSQL: "
                                "set TEST_DATABASE_URL (.ci/run does)")

GUNICORN = Path(sys.executable).with_name("gunicorn")
ROUNDS = 4


class _Form(HTMLParser):
    """The fields a browser would post from the page's main form (the one with most fields;
    the navbar's logout form has a CSRF token too)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = []
        self._select = self._textarea = None

    @property
    def fields(self) -> dict[str, str]:
        return max(self.forms, key=len) if self.forms else {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({})
            return
        if not self.forms or ("name" not in a and tag in ("input", "select", "textarea")):
            return
        form = self.forms[-1]
        if tag == "input" and a.get("type") not in ("submit", "button", "checkbox", "file"):
            form[a["name"]] = a.get("value") or ""
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            form[a["name"]] = a.get("value") or "y"
        elif tag == "select":
            self._select = a["name"]
            form.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            form[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            form[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # A browser drops the one newline right after <textarea>.
            form = self.forms[-1]
            form[self._textarea] = re.sub(r"^\r?\n", "", form[self._textarea])
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1][self._textarea] += data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A person's browser: its own cookies, one new connection per request (as the proxy)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, bytes, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read(), dict(error.headers)

    def form(self, path: str) -> dict[str, str]:
        status, body, _ = self.request(path)
        assert status == 200, (path, status)
        parser = _Form()
        parser.feed(body.decode())
        assert "csrf_token" in parser.fields, path
        return parser.fields

    def log_in(self, login: str):
        fields = self.form("/login")
        status, _, headers = self.request("/login", {**fields, "login": login,
                                                     "password": PASSWORD})
        assert status == 302 and "/login" not in headers.get("Location", ""), status


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def panel_data(fresh_database_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI":
                      fresh_database_url, "INSTANCE_PATH": str(tmp_path / "setup"),
                      **FAST_ARGON2})
    with app.app_context():
        upgrade()
        home = Agency(name="テスト市 女性支援課", category=AgencyCategory.local_government)
        db.session.add(home)
        for login in ("gu-coordinator-1", "gu-coordinator-2", "gu-revoked", "gu-throttled"):
            db.session.add(User(login=login, display_name=login, role=Role.coordinator,
                                agency=home, password_hash=hash_password(PASSWORD),
                                active=True))
        cases = [Case(woman=Woman(name=name, furigana=kana), received_on=date(2025, 4, 10),
                      lead_agency=home)
                 for name, kana in (("青木 明美", "アオキ アケミ"), ("石田 裕子", "イシダ ユウコ"))]
        db.session.add_all(cases)
        db.session.commit()
        # Each person edits a case of her own (the same case at once is refused as stale,
        # which is the optimistic locking's own test).
        ids = {"cases": [c.id for c in cases], "numbers": [c.number for c in cases]}
        db.session.remove()
    yield {"url": fresh_database_url, "app": app, **ids}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def gunicorn(panel_data, tmp_path):
    port = _free_port()
    work = tmp_path / "server"
    work.mkdir()
    access_log = work / "access.log"
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DATABASE_URL=panel_data["url"], INSTANCE_PATH=str(work / "instance"),
               TOTP_REQUIRED_ROLES="",  # the second factor has tests of its own
               KYOGIKAI_BIND=f"127.0.0.1:{port}", KYOGIKAI_WORKERS="2",
               KYOGIKAI_ACCESS_LOG=str(access_log), KYOGIKAI_ERROR_LOG=str(work / "error.log"))
    assert GUNICORN.exists() or shutil.which("gunicorn")
    process = subprocess.Popen([str(GUNICORN), "-c", "python:kyogikai.ops.gunicorn_conf",
                                "kyogikai:create_app()"], cwd=work, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (work / "error.log").read_text()
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except urllib.error.HTTPError as error:
                error.close()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or a worker still booting on a busy machine
            assert time.monotonic() < deadline, "gunicorn did not become healthy"
            time.sleep(0.2)
        yield {"base": base, "access_log": access_log, "work": work, "process": process}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _worker_pids(access_log: Path, pattern: str) -> set[str]:
    time.sleep(0.3)  # gunicorn writes the access log line after the response
    return {m.group(1) for line in access_log.read_text(encoding="utf-8").splitlines()
            if re.search(pattern, line) and (m := re.search(r"pid=<?(\d+)", line))}


def _person(base: str, login: str, case_id: int, numbers: list[str], results: list):
    """Log in, then edit the case and export the ledger, ROUNDS times."""
    browser = Browser(base)
    browser.log_in(login)
    for round_ in range(ROUNDS):
        note = f"{login} の記録 {round_}"
        fields = browser.form(f"/admin/case/edit/?id={case_id}")
        status, _, headers = browser.request(f"/admin/case/edit/?id={case_id}",
                                             {**fields, "note": note})
        assert status == 302, status
        status, body, headers = browser.request("/admin/case/export/csv/")
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        text = body.decode("utf-8")
        assert text.startswith("\ufeff") and all(number in text for number in numbers)
        results.append(note)


def test_two_people_through_two_workers(gunicorn, panel_data):
    """One server start for every check (a start costs seconds): work, logs, key, health."""
    base, access_log = gunicorn["base"], gunicorn["access_log"]
    results, errors = [], []

    def run(login, case_id):
        try:
            _person(base, login, case_id, panel_data["numbers"], results)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(login, case_id)) for login, case_id in
               zip(("gu-coordinator-1", "gu-coordinator-2"), panel_data["cases"], strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 2 * ROUNDS
    # Both workers served logged-in edits and exports: sessions and CSRF tokens hold across them.
    assert len(_worker_pids(access_log, r'"POST /admin/case/edit/ .*" 302')) == 2
    assert len(_worker_pids(access_log, r'"GET /admin/case/export/csv/ .*" 200')) >= 1
    with panel_data["app"].app_context():
        notes = db.session.scalars(sa.select(Case.note).where(Case.id.in_(panel_data["cases"]))
                                   .order_by(Case.id)).all()
        db.session.remove()
    # Each person's last save is what the database holds: no worker lost or reverted one.
    assert notes == [f"gu-coordinator-{n} の記録 {ROUNDS - 1}" for n in (1, 2)]

    _logout_ends_the_session_in_every_worker(gunicorn)
    _throttling_counts_failures_from_every_worker(gunicorn)
    _access_log_keeps_no_query_string(gunicorn)
    _both_workers_share_one_secret_key(gunicorn)
    _healthz_without_login_and_503_once_the_schema_is_not_ours(gunicorn, panel_data)


def _in_two_threads(work, *args) -> list:
    """Two people at once, so both sync workers take requests."""
    results, errors = [], []

    def run():
        try:
            results.extend(work(*args))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def _logout_ends_the_session_in_every_worker(gunicorn):
    """A cookie copied before logout opens nothing afterwards, whichever worker serves it."""
    owner = Browser(gunicorn["base"])
    owner.log_in("gu-revoked")
    thief = Browser(gunicorn["base"])
    for cookie in _cookies(owner):
        _cookies(thief).set_cookie(cookie)
    assert thief.request("/admin/woman/")[0] == 200  # the copy works while the session lives
    fields = owner.form("/admin/")
    assert owner.request("/logout", {"csrf_token": fields["csrf_token"]})[0] == 302

    def probe():
        return [thief.request("/admin/woman/") for _ in range(5)]

    answers = _in_two_threads(probe)
    assert all(status == 302 and "/login" in headers.get("Location", "")
               for status, _body, headers in answers), [a[0] for a in answers]
    assert len(_worker_pids(gunicorn["access_log"], r'"GET /admin/woman/ .*" 302')) == 2


def _cookies(browser: Browser) -> CookieJar:
    (processor,) = [h for h in browser.opener.handlers
                    if isinstance(h, urllib.request.HTTPCookieProcessor)]
    return processor.cookiejar


def _throttling_counts_failures_from_every_worker(gunicorn):
    """Failures counted by both workers together: past the allowance even the right password
    waits, and the page says why."""
    def fail():
        answers = []
        for _ in range(3):
            browser = Browser(gunicorn["base"])
            fields = browser.form("/login")
            answers.append(browser.request("/login", {**fields, "login": "gu-throttled",
                                                      "password": "wrong password 123"}))
        return answers

    answers = _in_two_threads(fail)
    assert all(status == 200 for status, _b, _h in answers)
    assert len(_worker_pids(gunicorn["access_log"], r'"POST /login .*" 200')) == 2
    browser = Browser(gunicorn["base"])
    fields = browser.form("/login")
    status, body, _ = browser.request("/login", {**fields, "login": "gu-throttled",
                                                 "password": PASSWORD})
    assert status == 200 and "ログインの失敗が続いたため" in body.decode()


def _access_log_keeps_no_query_string(gunicorn):
    browser = Browser(gunicorn["base"])
    browser.log_in("gu-coordinator-1")
    status, _, _ = browser.request("/admin/case/?search=%E9%9D%92%E6%9C%A8")
    assert status == 200
    time.sleep(0.3)
    text = gunicorn["access_log"].read_text(encoding="utf-8")
    assert "GET /admin/case/ " in text and "search=" not in text and "%E9" not in text


def _both_workers_share_one_secret_key(gunicorn):
    """The key was generated once into instance/ by two workers starting together."""
    key_file = gunicorn["work"] / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not list(key_file.parent.glob(".secret_key.*"))


def _healthz_without_login_and_503_once_the_schema_is_not_ours(gunicorn, panel_data):
    with urllib.request.urlopen(gunicorn["base"] + "/healthz", timeout=5) as response:
        assert response.status == 200 and response.read() == b'{"status":"ok"}\n'
    with panel_data["app"].app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(gunicorn["base"] + "/healthz", timeout=5)
    refused.value.close()
    assert refused.value.code == 503
