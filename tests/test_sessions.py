"""Sessions that end when they should: logout, deactivation, password and role changes end every
session of the account; idle and absolute lifetimes; the login page says why."""

import time

import pytest
import sqlalchemy as sa

from kyogikai.app import create_app
from kyogikai.models import AuditAction, AuditEvent, User, db
from kyogikai.policy import sessions
from tests.conftest import FAST_ARGON2, PASSWORD, AuthActions, csrf_token, post_form, user_by_login

CASE_PAGE = "/admin/case/"


def _copy_cookie(source, target) -> None:
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value, domain=cookie.domain)


def _ended_message(client, response) -> str:
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _events(app, action):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_cookie_copied_before_logout_is_dead_after_it(app, client, auth, sample):
    auth.login_as("coordinator")
    thief = app.test_client()
    _copy_cookie(client, thief)
    assert thief.get(CASE_PAGE).status_code == 200
    auth.logout()
    body = _ended_message(thief, thief.get(CASE_PAGE))
    assert "このセッションは終了しています" in body
    assert thief.get(CASE_PAGE).status_code == 302
    assert [e.detail for e in _events(app, AuditAction.session_ended)] == ["reason=revoked"]


@pytest.mark.real_commits
def test_a_copied_cookie_stays_dead_after_a_server_restart(app, client, auth, sample):
    auth.login_as("coordinator")
    cookie = client.get_cookie("session")
    auth.logout()
    restarted = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "INSTANCE_PATH": app.config["INSTANCE_PATH"],
                            "TOTP_REQUIRED_ROLES": "", **FAST_ARGON2})
    thief = restarted.test_client()
    thief.set_cookie("session", cookie.value, domain=cookie.domain)
    try:
        assert thief.get(CASE_PAGE).status_code == 302
    finally:
        with restarted.app_context():
            db.session.remove()
            db.engine.dispose()


def test_logout_ends_the_accounts_other_sessions_too(app, login_as, sample):
    office, home = login_as("clerk"), login_as("clerk")
    AuthActions(office).logout()
    assert home.get(CASE_PAGE).status_code == 302


def _admin_action(admin, user_id: int, action: str):
    page = admin.get("/admin/user/").get_data(as_text=True)
    version = f"{user_id}:"
    start = page.index(f'value="{version}')
    rowversion = page[start + len('value="'):page.index('"', start + len('value="'))]
    return admin.post("/admin/user/action/", data={
        "action": action, "rowid": str(user_id), "rowversion": rowversion,
        "csrf_token": csrf_token(admin, "/admin/user/")})


def test_deactivation_ends_an_open_session(app, login_as, sample):
    clerk = login_as("clerk")
    assert clerk.get(CASE_PAGE).status_code == 200
    with app.app_context():
        clerk_id = user_by_login("test-clerk").id
    response = _admin_action(login_as("admin"), clerk_id, "deactivate")
    assert response.status_code == 302
    body = _ended_message(clerk, clerk.get(CASE_PAGE))
    assert "このセッションは終了しています" in body
    with app.app_context():
        assert user_by_login("test-clerk").active is False


def test_a_role_change_ends_every_session(app, login_as, sample):
    """Even to a role needing no approval: the open session must not carry on in the new role."""
    clerk = login_as("clerk")
    with app.app_context():
        clerk_id = user_by_login("test-clerk").id
    admin = login_as("admin")
    response = post_form(admin, f"/admin/user/edit/?id={clerk_id}", {
        "login": "test-clerk", "display_name": "事務担当テスト", "role": "admin",
        "agency": "1", "member": "__None", "active": "y", "new_password": ""})
    assert response.status_code == 302
    assert clerk.get("/admin/").status_code == 302


def test_changing_ones_password_ends_other_sessions_and_keeps_this_one(app, login_as, sample):
    here, elsewhere = login_as("clerk"), login_as("clerk")
    response = post_form(here, "/admin/own_account/", {
        "current": PASSWORD, "new": "ひまわり畑の向こうに 青い自転車", "confirm":
        "ひまわり畑の向こうに 青い自転車"}, target="/admin/own_account/password")
    assert response.status_code == 302
    assert here.get(CASE_PAGE).status_code == 200
    assert elsewhere.get(CASE_PAGE).status_code == 302


class Clock:
    """time.time() as policy.sessions sees it (cookie signing keeps the real clock)."""

    def __init__(self):
        self.offset = 0.0

    def time(self):
        return time.time() + self.offset


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(sessions, "time", fake)
    return fake


def test_idle_timeout_says_why(app, client, auth, clock, sample):
    auth.login_as("clerk")
    clock.offset = 29 * 60
    assert client.get(CASE_PAGE).status_code == 200  # activity renews the idle clock
    clock.offset = 29 * 60 + 29 * 60
    assert client.get(CASE_PAGE).status_code == 200
    clock.offset += 31 * 60
    body = _ended_message(client, client.get(CASE_PAGE))
    assert "一定時間操作がなかったため、ログアウトしました" in body
    assert [e.detail for e in _events(app, AuditAction.session_ended)] == ["reason=idle"]


def test_absolute_lifetime_ends_even_a_busy_session(app, client, auth, clock, sample):
    auth.login_as("clerk")
    for step in range(1, 36):  # a request every 20 minutes for almost 12 hours
        clock.offset = step * 20 * 60
        assert client.get(CASE_PAGE).status_code == 200, step
    clock.offset = 12 * 3600 + 60
    body = _ended_message(client, client.get(CASE_PAGE))
    assert "ログインしてから一定時間が経過したため" in body


def test_both_lifetimes_are_configurable(app, client, auth, clock, sample):
    app.config.update(SESSION_MINUTES=5, SESSION_MAX_HOURS=1)
    auth.login_as("clerk")
    clock.offset = 6 * 60
    assert "一定時間操作がなかった" in _ended_message(client, client.get(CASE_PAGE))


def test_the_session_id_carries_the_generation(app, sample):
    with app.app_context():
        user = user_by_login("test-clerk")
        assert sessions.load_user(user.get_id()) is user
        sessions.end_all(user.id)
        db.session.commit()
        db.session.expire_all()
        assert sessions.load_user(f"{user.id}:0") is None
        assert sessions.load_user(str(user.id)) is None  # a cookie from before generations
        assert sessions.load_user(db.session.get(User, user.id).get_id()) is not None
