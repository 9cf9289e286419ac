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
        for login in ("gu-coordinator-1", "gu-coordinator-2"):
            db.session.add(User(login=login, display_name=login, role=Role.coordinator,
                                agency=home, password_hash=hash_password(PASSWORD),
                                active=True))
        case = Case(woman=Woman(name="青木 明美", furigana="アオキ アケミ"),
                    received_on=date(2025, 4, 10), lead_agency=home)
        db.session.add(case)
        db.session.commit()
        ids = {"case": case.id, "number": case.number}
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
            except (urllib.error.URLError, ConnectionError):
                pass
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


def _person(base: str, login: str, case_id: int, number: str, results: list):
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
        assert text.startswith("\ufeff") and number in text
        results.append(note)


def test_two_people_through_two_workers(gunicorn, panel_data):
    """One server start for every check (a start costs seconds): work, logs, key, health."""
    base, access_log = gunicorn["base"], gunicorn["access_log"]
    results, errors = [], []

    def run(login):
        try:
            _person(base, login, panel_data["case"], panel_data["number"], results)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(login,))
               for login in ("gu-coordinator-1", "gu-coordinator-2")]
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
        note = db.session.scalar(sa.select(Case.note).where(Case.id == panel_data["case"]))
        db.session.remove()
    assert note in results  # the last save won, nothing was lost to a stale worker

    _access_log_keeps_no_query_string(gunicorn)
    _both_workers_share_one_secret_key(gunicorn)
    _healthz_without_login_and_503_once_the_schema_is_not_ours(gunicorn, panel_data)


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
