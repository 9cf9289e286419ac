"""Optional TOTP second factor: enrolment with a QR code, sign-in with a code or a recovery code,
no replay, required for chosen roles, reset by the administrator (then approved again)."""

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from kyogikai.models import ApprovalReason, AuditAction, AuditEvent, Role, User, db
from tests.conftest import PASSWORD, AuthActions, csrf_token, user_by_login

SECRET_RE = re.compile(r'class="totp-secret">([A-Z2-7]+)<')
CODE_RE = re.compile(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>")


def _post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/admin/own_account/")})


def enrol(client) -> tuple[pyotp.TOTP, list[str]]:
    page = _post(client, "/admin/own_account/second-factor/start", {"password": PASSWORD})
    body = page.get_data(as_text=True)
    assert "<svg" in body and "<img" not in body.split("totp-qr", 1)[1][:200]
    totp = pyotp.TOTP(SECRET_RE.search(body).group(1))
    done = _post(client, "/admin/own_account/second-factor/confirm", {"code": totp.now()})
    codes = CODE_RE.findall(done.get_data(as_text=True))
    assert len(codes) == 10
    return totp, codes


def _password_step(app, login="test-clerk"):
    client = app.test_client()
    response = AuthActions(client).login(login)
    return client, response


def _code_step(client, code):
    token = csrf_token(client, "/login/second-factor")
    return client.post("/login/second-factor", data={"code": code, "csrf_token": token})


def _next_code(totp) -> str:
    """The code of the next time step: fresh even if this step's code was just used."""
    return totp.at(time.time() + 30)


def test_enrol_then_sign_in_with_a_code(app, login_as, sample):
    totp, _ = enrol(login_as("clerk"))
    client, response = _password_step(app)
    assert response.headers["Location"].endswith("/login/second-factor")
    assert client.get("/admin/").status_code == 302  # the password alone opens nothing
    assert "確認コードが正しくありません" in _code_step(client, "000000").get_data(as_text=True)
    assert _code_step(client, _next_code(totp)).status_code == 302
    assert client.get("/admin/case/").status_code == 200
    with app.app_context():
        details = db.session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.action.in_([AuditAction.second_factor, AuditAction.login_failed]))).all()
    assert "enrolled" in details and "bad_second_factor" in details


def test_a_code_is_accepted_once(app, login_as, sample):
    totp, _ = enrol(login_as("clerk"))
    code = _next_code(totp)
    first, _ = _password_step(app)
    assert _code_step(first, code).status_code == 302
    second, _ = _password_step(app)
    assert _code_step(second, code).status_code == 200  # replayed: refused


def test_a_recovery_code_works_once(app, login_as, sample):
    _, codes = enrol(login_as("clerk"))
    client, _ = _password_step(app)
    assert _code_step(client, codes[0].upper()).status_code == 302
    again, _ = _password_step(app)
    assert _code_step(again, codes[0]).status_code == 200
    with app.app_context():
        assert sum(c.used_at is not None for c in user_by_login("test-clerk").recovery_codes) == 1


def test_required_roles_must_enrol_before_anything_else(app, login_as, sample):
    app.config["TOTP_REQUIRED_ROLES"] = frozenset({Role.coordinator})
    coordinator = login_as("coordinator")
    blocked = coordinator.get("/admin/case/")
    assert blocked.headers["Location"].endswith("/admin/own_account/")
    page = coordinator.get("/admin/own_account/").get_data(as_text=True)
    assert "この役割では二要素認証が必要です" in page
    enrol(coordinator)
    assert coordinator.get("/admin/case/").status_code == 200
    refused = _post(coordinator, "/admin/own_account/second-factor/remove", {"password": PASSWORD})
    assert refused.status_code == 302
    with app.app_context():
        assert user_by_login("test-coordinator").has_second_factor
    # Other roles stay optional.
    assert login_as("clerk").get("/admin/case/").status_code == 200


def test_the_administrator_resets_a_lost_factor_and_a_coordinator_approves(app, login_as,
                                                                           sample):
    enrol(login_as("clerk"))
    with app.app_context():
        clerk = user_by_login("test-clerk")
        rowversion = f"{clerk.id}:{clerk.version}"
    admin = login_as("admin")
    admin.post("/admin/user/action/", data={
        "action": "reset_second_factor", "rowid": str(clerk.id), "rowversion": rowversion,
        "csrf_token": csrf_token(admin, "/admin/user/")})
    with app.app_context():
        clerk = user_by_login("test-clerk")
        assert not clerk.has_second_factor and clerk.recovery_codes == []
        assert clerk.approval_pending is ApprovalReason.second_factor_reset


@pytest.mark.parametrize("wrong", ["", "12345", "abcdef", "1234567"])
def test_malformed_codes_are_refused_in_japanese(app, login_as, sample, wrong):
    enrol(login_as("clerk"))
    client, _ = _password_step(app)
    body = _code_step(client, wrong).get_data(as_text=True)
    assert "確認コード" in body and client.get("/admin/").status_code == 302


def _raw_user_row(app, login: str) -> dict:
    """The account's row as the database (and every backup of it) holds it."""
    with app.app_context(), db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM users WHERE login = :login"),
                                 {"login": login}).mappings().one())


def test_the_database_never_holds_the_secret(app, login_as, sample):
    from kyogikai.policy import sealing

    client = login_as("clerk")
    page = _post(client, "/admin/own_account/second-factor/start", {"password": PASSWORD})
    secret = SECRET_RE.search(page.get_data(as_text=True)).group(1)
    for stage in ("enrolling", "enrolled"):
        row = _raw_user_row(app, "test-clerk")
        assert "totp_secret" not in row  # no clear column left
        assert not any(secret in str(value) for value in row.values()), stage
        assert sealing.unseal(row["totp_secret_sealed"], app.config) == secret
        if stage == "enrolling":
            _post(client, "/admin/own_account/second-factor/confirm",
                  {"code": pyotp.TOTP(secret).now()})
    assert _raw_user_row(app, "test-clerk")["totp_enabled_at"] is not None
    # Another key cannot read it: the key comes from configuration (TOTP_KEY, else SECRET_KEY).
    assert sealing.unseal(row["totp_secret_sealed"], {"SECRET_KEY": "another"}) is None
    assert sealing.unseal(row["totp_secret_sealed"], {**app.config, "TOTP_KEY": "x"}) is None


def test_a_secret_sealed_under_another_key_signs_in_nobody(app, login_as, sample):
    totp, codes = enrol(login_as("clerk"))
    app.config["TOTP_KEY"] = "a key the secret was not sealed with"
    client, _response = _password_step(app)
    assert "確認コードが正しくありません" in _code_step(client, _next_code(totp)).get_data(
        as_text=True)
    # The recovery codes (hashes, not sealed) still let the person in, to enrol again.
    assert _code_step(client, codes[0]).status_code == 302


def _sealed(app, login="test-clerk") -> str:
    return _raw_user_row(app, login)["totp_secret_sealed"]


def test_a_new_key_keeps_everyone_signed_in_once_resealed(app, login_as, sample):
    """TOTP_KEY changed with the old key in TOTP_KEY_PREVIOUS: codes still work; reseal-totp
    seals every secret under the new key, after which the old key can go (audited)."""
    from kyogikai.policy import sealing

    totp, _ = enrol(login_as("clerk"))
    before = _sealed(app)
    app.config.update(TOTP_KEY_PREVIOUS=app.config.get("TOTP_KEY") or app.config["SECRET_KEY"],
                      TOTP_KEY="新しい鍵（試験用）")
    client, _response = _password_step(app)
    assert _code_step(client, _next_code(totp)).status_code == 302  # during the change
    result = app.test_cli_runner().invoke(args=["reseal-totp"])
    assert result.exit_code == 0, result.output
    assert "1件を現在の鍵で封印し直しました" in result.output
    app.config["TOTP_KEY_PREVIOUS"] = ""
    assert _sealed(app) != before
    assert sealing.unseal(_sealed(app), app.config) == totp.secret
    assert sealing.unseal(before, app.config) is None  # the old key is no longer configured
    with app.app_context():
        details = db.session.scalars(sa.select(AuditEvent.detail).where(
            AuditEvent.action == AuditAction.second_factor)).all()
    assert "resealed;accounts=1;unreadable=0" in details


def test_a_secret_no_key_opens_is_named_and_left_as_it_was(app, login_as, sample):
    enrol(login_as("clerk"))
    before = _sealed(app)
    app.config["TOTP_KEY"] = "新しい鍵（古い鍵は渡さない）"
    result = app.test_cli_runner().invoke(args=["reseal-totp"])
    assert result.exit_code == 1
    assert "0件を現在の鍵で封印し直しました" in result.output
    assert "1件はどの鍵でも開けず、そのままにしました（test-clerk）" in result.output
    assert _sealed(app) == before


def test_an_account_changed_during_a_reseal_leaves_everything_as_it_was(app, login_as, sample,
                                                                       monkeypatch):
    """Found in review: a reset or enrolment committed while the command runs (SQLite has no
    row locks) made it fail with a traceback; now it says so and changes nothing."""
    from kyogikai.policy import sealing

    enrol(login_as("clerk"))
    before = _sealed(app)
    resealed = sealing.reseal

    def meanwhile(sealed, config):
        db.session.execute(sa.update(User).where(User.login == "test-clerk")
                           .values(version=User.version + 1)
                           .execution_options(synchronize_session=False))  # another's save
        return resealed(sealed, config)

    monkeypatch.setattr(sealing, "reseal", meanwhile)
    result = app.test_cli_runner().invoke(args=["reseal-totp"])
    assert result.exit_code == 1 and "もう一度実行してください" in result.output, result.output
    assert "Traceback" not in result.output
    assert _sealed(app) == before
