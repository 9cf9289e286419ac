"""Throttling instead of a lock anyone can trigger: growing delays per (login, address) and per
address, shared by every worker, seen and cleared by システム管理者, all audited."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from kyogikai.app import create_app
from kyogikai.models import AuditAction, AuditEvent, LoginThrottle, ThrottleScope, db
from kyogikai.models.base import utcnow
from tests.conftest import FAST_ARGON2, PASSWORD, AuthActions, csrf_token, user_by_login

ATTACKER, OWNER = "10.0.0.66", "10.0.0.7"
REFUSED = "ログインIDまたはパスワードが正しくありません。"
THROTTLED = "この端末からは"


@pytest.fixture
def small_limits(app):
    app.config.update(LOGIN_FREE_FAILURES=3, LOGIN_ADDRESS_FREE_FAILURES=8,
                      LOGIN_DELAY_SECONDS=10, LOGIN_DELAY_MAX_SECONDS=40)
    return app


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _try(client, login, password="wrong password!"):
    response = AuthActions(client).login(login, password)
    return response.status_code, response.get_data(as_text=True)


def _rows(app, scope=None):
    with app.app_context():
        query = sa.select(LoginThrottle)
        if scope is not None:
            query = query.where(LoginThrottle.scope == scope)
        return db.session.scalars(query).all()


def _let_time_pass(app):
    with app.app_context():
        db.session.execute(sa.update(LoginThrottle).values(
            blocked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_delays_grow_and_then_hold_even_the_right_password(small_limits):
    app = small_limits
    attacker = _client(app, ATTACKER)
    for _ in range(3):
        assert REFUSED in _try(attacker, "test-clerk")[1]
    status, body = _try(attacker, "test-clerk")
    assert "10秒間ログインできません" in body
    status, body = _try(attacker, "test-clerk", PASSWORD)  # the right password, too early
    assert status == 200 and "秒間ログインできません" in body
    (pair,) = _rows(app, ThrottleScope.pair)
    assert pair.failures == 4  # a throttled attempt is not counted again
    _let_time_pass(app)
    assert "20秒間" in _try(attacker, "test-clerk")[1]
    _let_time_pass(app)
    assert "40秒間" in _try(attacker, "test-clerk")[1]
    _let_time_pass(app)
    assert "40秒間" in _try(attacker, "test-clerk")[1]  # the maximum
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.action == AuditAction.login_failed)).all()
    assert "throttled" in events and events.count("bad_password") == 7


def test_a_flood_from_one_address_never_locks_the_owner_out(small_limits):
    app = small_limits
    attacker = _client(app, ATTACKER)
    for _ in range(40):
        _try(attacker, "test-clerk")
    assert THROTTLED in _try(attacker, "test-clerk", PASSWORD)[1]
    owner = _client(app, OWNER)
    status, _ = _try(owner, "test-clerk", PASSWORD)
    assert status == 302
    assert owner.get("/admin/").status_code == 200


def test_one_address_trying_many_logins_is_slowed_as_an_address(small_limits):
    app = small_limits
    attacker = _client(app, ATTACKER)
    for number in range(8):  # each login stays under its own allowance
        assert REFUSED in _try(attacker, f"guess-{number}")[1]
    assert THROTTLED in _try(attacker, "guess-8")[1]
    assert THROTTLED in _try(attacker, "test-supervisor", PASSWORD)[1]
    assert _try(_client(app, OWNER), "test-supervisor", PASSWORD)[0] == 302


def test_a_successful_sign_in_forgets_its_own_failures(small_limits):
    app = small_limits
    owner = _client(app, OWNER)
    for _ in range(2):
        _try(owner, "test-clerk")
    assert _try(owner, "test-clerk", PASSWORD)[0] == 302
    assert _rows(app, ThrottleScope.pair) == []


@pytest.mark.real_commits
def test_counts_hold_across_workers(small_limits):
    """Two app instances on one database, as two gunicorn workers are."""
    first = small_limits
    second = create_app({"TESTING": True, "SECRET_KEY": first.config["SECRET_KEY"],
                         "SQLALCHEMY_DATABASE_URI": first.config["SQLALCHEMY_DATABASE_URI"],
                         "INSTANCE_PATH": first.config["INSTANCE_PATH"],
                         "TOTP_REQUIRED_ROLES": "", **FAST_ARGON2})
    second.config.update({key: first.config[key] for key in (
        "LOGIN_FREE_FAILURES", "LOGIN_ADDRESS_FREE_FAILURES", "LOGIN_DELAY_SECONDS",
        "LOGIN_DELAY_MAX_SECONDS")})
    try:
        _try(_client(first, ATTACKER), "test-clerk")
        _try(_client(second, ATTACKER), "test-clerk")
        _try(_client(first, ATTACKER), "test-clerk")
        assert "10秒間" in _try(_client(second, ATTACKER), "test-clerk")[1]
        assert THROTTLED in _try(_client(first, ATTACKER), "test-clerk", PASSWORD)[1]
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_administrator_sees_and_clears_throttles(small_limits, login_as):
    app = small_limits
    attacker = _client(app, ATTACKER)
    for _ in range(5):
        _try(attacker, "test-clerk")
    admin = login_as("admin")
    listing = admin.get("/admin/login_throttle/").get_data(as_text=True)
    assert ATTACKER in listing and "test-clerk" in listing
    ids = [str(row.id) for row in _rows(app)]
    response = admin.post("/admin/login_throttle/action/", data={
        "action": "delete", "rowid": ids, "csrf_token": csrf_token(admin, "/admin/")})
    assert response.status_code == 302
    assert _rows(app) == []
    assert _try(attacker, "test-clerk", PASSWORD)[0] == 302
    with app.app_context():
        cleared = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.throttle_cleared)).all()
        assert len(cleared) == 2 and {e.user.login for e in cleared} == {"test-admin"}


def test_unlock_clears_a_login_from_every_address(small_limits, login_as):
    app = small_limits
    for address in (ATTACKER, "10.0.0.67"):
        for _ in range(4):
            _try(_client(app, address), "test-clerk")
    assert len(_rows(app, ThrottleScope.pair)) == 2
    with app.app_context():
        clerk = user_by_login("test-clerk")
        rowversion = f"{clerk.id}:{clerk.version}"
    admin = login_as("admin")
    response = admin.post("/admin/user/action/", data={
        "action": "unlock", "rowid": str(clerk.id), "rowversion": rowversion,
        "csrf_token": csrf_token(admin, "/admin/user/")})
    assert response.status_code == 302
    assert _rows(app, ThrottleScope.pair) == []
    assert len(_rows(app, ThrottleScope.address)) == 2  # addresses keep their own counts
    with app.app_context():
        details = db.session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.action == AuditAction.account_change)).all()
    assert details == ["changed=unlocked;cleared=2"]
