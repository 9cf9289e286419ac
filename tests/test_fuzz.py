"""Every route under hostile input, for every role and for a visitor who has not signed in.

The harness (tests/fuzzing.py) finds the routes, parameters and forms itself; this module sets
the budget: in CI a fixed hypothesis seed and example count (about three minutes per engine on
two cores), with ``--fuzz-long`` every fixed value on every parameter and many more examples.
"""

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import redirect, request
from flask_admin import expose

from kyogikai.admin_views.base import SecureView
from kyogikai.models import Concern, db
from kyogikai.ops.health import MIGRATIONS_DIR
from tests import fuzzing
from tests.conftest import PASSWORD, ROLES, AuthActions, _create_app, csrf_token, post_form

CI = {"per_param": 1, "examples": 100, "pages": 120}
LONG = {"per_param": len(fuzzing.HOSTILE), "examples": 5000, "pages": 2000}
# Requests each visitor must send at least (a visitor not signed in reaches fewer forms): over
# the six, at least 10,000 per engine.
MINIMUM = {**{role: 1870 for role in ROLES}, "anonymous": 700}
VISITORS = [*ROLES, "anonymous"]


def run_harness(app, role, budget):
    client = app.test_client()
    actions = AuthActions(client)
    relogin = None
    if role != "anonymous":
        actions.login_as(role)
        relogin = lambda: actions.login_as(role)  # noqa: E731
    harness = fuzzing.Harness(app, client, role, relogin, per_param=budget["per_param"],
                              pages=budget["pages"])
    return harness, harness.run(budget["examples"], seed=20260 + VISITORS.index(role))


@pytest.fixture
def at_head(app):
    """The test schema comes from create_all; marked at the migrations' head, as a migrated
    database is, /healthz answers 200 (a 503 there means "not migrated", not a failure)."""
    with app.app_context(), db.engine.begin() as conn:
        MigrationContext.configure(conn).stamp(ScriptDirectory(str(MIGRATIONS_DIR)), "heads")


@pytest.mark.parametrize("role", VISITORS)
def test_every_route_under_hostile_input(pytestconfig, app, sample, at_head, monkeypatch, role):
    monkeypatch.setattr(app, "request_class", fuzzing.RecordingRequest)
    budget = LONG if pytestconfig.getoption("--fuzz-long") else CI
    harness, stats = run_harness(app, role, budget)
    fuzzing.TOTALS.append((role, stats.requests, stats.seconds, len(harness.targets)))
    rules = {r.rule for r in app.url_map.iter_rules() if not r.rule.startswith(
        fuzzing.NEVER_FOLLOW)}
    assert rules - stats.rules == set(), "routes never requested"
    assert stats.requests >= MINIMUM[role], stats.requests
    assert not stats.failures, "\n".join(map(str, stats.failures))


class PlantedView(SecureView):
    """A screen with one defect of each kind the harness must catch, declared nowhere else."""

    resource = "concern"

    @expose("/")
    def index(self):
        return f"<p>{int(request.args.get('n', '1'))}件</p>"  # 「²」 → ValueError → 500

    @expose("/echo")
    def echo(self):
        return "<p>検索: " + request.args.get("q", "") + "</p>"  # echoed unescaped

    @expose("/english")
    def english(self):
        if request.args.get("code", "a") != "a":
            return "<p>Invalid code</p>", 400  # an error page not in Japanese
        return "<p>正常</p>"

    @expose("/save", methods=("POST",))
    def save(self):
        name = request.form.get("name", "")
        db.session.add(Concern(name=f"植え込み{len(name)}", sort_order=99))
        db.session.commit()  # written before the check refuses: half-stored
        if name != "ok":
            return "<p class='alert alert-danger'>入力が正しくありません。</p>", 200
        return redirect("/admin/")

    @expose("/trace")
    def trace(self):
        if request.args.get("x", "") != "":
            return f"<pre>Traceback (most recent call last): ValueError {len(request.args['x'])}</pre>"
        return "<p>正常</p>"


@pytest.fixture
def planted(app, shared_app, database):
    """The app once more, with the planted screen added before its first request."""
    config = {"SQLALCHEMY_ENGINE_OPTIONS": app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    broken = _create_app(app.config["SQLALCHEMY_DATABASE_URI"], app.config["INSTANCE_PATH"],
                         **config)
    broken.extensions["admin"][0].add_view(PlantedView(name="植え込み", endpoint="planted"))
    _shared, one = shared_app
    if one is not None:
        with broken.app_context():
            one.watch(db.engine)
    yield broken
    with broken.app_context():
        db.session.remove()
        if one is None:
            db.engine.dispose()


def test_the_harness_catches_a_planted_broken_screen(planted, monkeypatch):
    monkeypatch.setattr(planted, "request_class", fuzzing.RecordingRequest)
    client = planted.test_client()
    actions = AuthActions(client)
    actions.login_as("coordinator")
    harness = fuzzing.Harness(planted, client, "coordinator", lambda: actions.login_as(
        "coordinator"), per_param=len(fuzzing.HOSTILE), pages=0, scope="/admin/planted/")
    stats = harness.run(examples=0, seed=0)
    found = {(failure.url, failure.what.split(":")[0].split(" ")[0]) for failure in stats.failures}
    assert {("/admin/planted/", "exception"), ("/admin/planted/echo", "input"),
            ("/admin/planted/english", "error"), ("/admin/planted/save", "rows"),
            ("/admin/planted/trace", "exception")} <= found, found


# Each class of failure the harness found, pinned at the layer that was fixed.


def test_a_delete_without_an_id_is_refused_in_japanese(login_as, sample):
    """The shared delete form: Flask-Admin named its missing field "Id" in the flashed error."""
    client = login_as("admin")
    response = client.post("/admin/concern/delete/", data={
        "csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 302
    with client.session_transaction() as session:
        errors = [str(message) for category, message in session["_flashes"]
                  if category == "error"]
    assert errors and all("ID" in message and "Id" not in message for message in errors), errors


@pytest.mark.parametrize("query", ["search=%00", "search=a%00b", "flt0_0=%00"])
def test_nul_in_a_query_is_refused_on_every_engine(login_as, sample, query):
    """PostgreSQL refuses NUL in text (SQLite stores it): a search or filter with one was a 500
    there. Refused for every request, before any query."""
    response = login_as("coordinator").get(f"/admin/meeting/?{query}")
    assert response.status_code == 400
    assert "要求の内容が正しくありません。" in response.get_data(as_text=True)


def test_nul_in_a_form_is_refused_and_nothing_is_stored(login_as, sample, app):
    client = login_as("admin")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Concern))
    response = post_form(client, "/admin/concern/new/", {"name": "主訴\x00", "sort_order": "9"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == before


def test_nul_in_a_sign_in_is_refused(client):
    response = client.post("/login", data={"login": "test-admin\x00", "password": "x",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 400


@pytest.mark.parametrize("url", ["/admin/%0D%0ASet-Cookie:x=1", "/admin/%08", "/admin/%7F"])
def test_a_return_address_with_a_control_character_is_refused(login_as, sample, url):
    """Flask-Admin redirects to its ``url`` argument after a missing record (and after saves);
    a control character there made werkzeug raise while building the Location header."""
    client = login_as("coordinator")
    response = client.get(f"/admin/council/details/?id=999&url={url}")
    assert response.status_code == 400
    assert "要求の内容が正しくありません。" in response.get_data(as_text=True)
    client = login_as("admin")
    response = client.post(f"/admin/concern/delete/?url={url}", data={
        "id": "999", "csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["/admin/%0D%0AX:1", "//evil.example/", "/\\evil.example"])
def test_sign_in_returns_only_to_a_plain_path_on_this_server(client, target):
    response = client.post(f"/login?next={target}", data={
        "login": "test-coordinator", "password": PASSWORD,
        "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_a_reference_date_past_the_offered_years_is_refused_in_japanese(login_as, sample):
    """9999-12-31 is a date, but the 様式1 ages and 年度 computed from it overflowed (a 500)."""
    client = login_as("coordinator")
    for url in ("/admin/case/form1/?format=xlsx&reference_date=9999-12-31",
                "/admin/forms/form1/?fiscal_year=2025&format=xlsx&reference_date=9999-12-31"):
        response = client.get(url)
        assert response.status_code == 302, url
        with client.session_transaction() as session:
            errors = [str(m) for c, m in session.pop("_flashes", []) if c == "error"]
        assert any("基準日は明治以降、2200年までの日付で入力してください" in e for e in errors), errors


@pytest.mark.parametrize("value", ["9" * 5000, "２０２５", "²"])
def test_a_fiscal_year_of_thousands_of_digits_is_refused(login_as, sample, value):
    """int() of 4,300 digits and more raises (a 500 on 様式の出力)."""
    response = login_as("supervisor").get(f"/admin/forms/?fiscal_year={value}")
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("value", [str(-(2**64)), str(2**64), "²", "１"])
def test_a_picked_record_id_past_the_driver_range_is_no_record(login_as, sample, value):
    """Ajax pickers read a posted id with int(): -2^64 overflowed the driver (a 500)."""
    client = login_as("coordinator")
    response = post_form(client, "/admin/case_review/new/", {
        "case": value, "reviewed_on": "令和7年6月1日"})
    assert response.status_code == 200
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["²", str(2**64), "9" * 5000])
def test_custom_screens_read_ids_and_indexes_as_plain_numbers(login_as, sample, value):
    client = login_as("coordinator")
    response = client.post("/admin/account_approval/decide", data={
        "id": value, "decision": "approve", "csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 302
    response = client.get(f"/admin/case_conference/panel?case={sample['case']}&index={value}")
    assert response.status_code == 404
