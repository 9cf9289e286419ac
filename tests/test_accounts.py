"""Accounts through their whole life, and separation of duties: no single person grants access
to case content; a second 調整担当者 approves, audited."""

import re

import pytest
import sqlalchemy as sa

from kyogikai.models import ApprovalReason, AuditAction, AuditEvent, Role, User, db
from kyogikai.policy import accounts
from kyogikai.policy.authentication import hash_password
from tests.conftest import PASSWORD, AuthActions, csrf_token, post_form, user_by_login

TEMPORARY = "仮パスワード 夕焼けの港町"
NEW_COORDINATOR = {"login": "new-coordinator", "display_name": "新任 調整", "role": "coordinator",
                   "agency": "1", "member": "__None", "active": "y", "new_password": TEMPORARY}


def _user_id(app, login):
    with app.app_context():
        return user_by_login(login).id


def _create(admin, data=None):
    return post_form(admin, "/admin/user/new/", data or NEW_COORDINATOR)


def _edit(admin, app, login, **changes):
    with app.app_context():
        user = user_by_login(login)
        data = {"login": user.login, "display_name": user.display_name, "role": user.role.value,
                "agency": str(user.agency_id or "__None"), "member": "__None",
                "active": "y" if user.active else "", "new_password": ""}
    data.update(changes)
    if not data["active"]:
        del data["active"]
    return post_form(admin, f"/admin/user/edit/?id={_user_id(app, login)}", data)


def _sign_in(app, login, password):
    client = app.test_client()
    response = AuthActions(client).login(login, password)
    return client, response


def _decide(client, user_id, decision):
    return client.post("/admin/account_approval/decide", data={
        "id": str(user_id), "decision": decision, "csrf_token": csrf_token(client, "/admin/")})


def _second_coordinator(app):
    with app.app_context():
        db.session.add(User(login="test-coordinator-2", display_name="第二 調整",
                            role=Role.coordinator, password_hash=hash_password(PASSWORD),
                            active=True, agency_id=1))
        db.session.commit()


def test_admin_alone_cannot_grant_case_access(app, login_as, sample):
    """The admin creates a coordinator and knows its password: it still opens nothing."""
    admin = login_as("admin")
    response = _create(admin)
    assert response.status_code == 302
    with app.app_context():
        created = user_by_login("new-coordinator")
        assert created.approval_pending is ApprovalReason.created
        assert created.approval_requested_by.login == "test-admin"
    client, response = _sign_in(app, "new-coordinator", TEMPORARY)
    assert response.status_code == 200
    assert "調整担当者の承認待ちです" in response.get_data(as_text=True)
    assert client.get("/admin/woman/").status_code == 302
    # The admin cannot reach the approval screen nor approve through it.
    assert admin.get("/admin/account_approval/").status_code == 403
    assert _decide(admin, _user_id(app, "new-coordinator"), "approve").status_code == 403
    with app.app_context():
        assert user_by_login("new-coordinator").approval_pending is not None


def test_a_second_coordinator_approves_and_the_step_is_audited(app, login_as, sample):
    _create(login_as("admin"))
    coordinator = login_as("coordinator")
    page = coordinator.get("/admin/account_approval/").get_data(as_text=True)
    assert "new-coordinator" in page and "新規作成" in page and "システム管理者テスト" in page
    assert _decide(coordinator, _user_id(app, "new-coordinator"), "approve").status_code == 302
    client, response = _sign_in(app, "new-coordinator", TEMPORARY)
    assert response.status_code == 302
    # The administrator's temporary password must be replaced before anything else.
    assert client.get("/admin/woman/").headers["Location"].endswith("/admin/own_account/")
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.account_approval)
            .order_by(AuditEvent.id)).all()
        assert [(e.detail, e.user.login) for e in events] == [
            ("requested=created", "test-admin"), ("approved=created", "test-coordinator")]


def test_the_account_itself_and_the_requester_cannot_approve(app, login_as, sample):
    _second_coordinator(app)
    coordinator = login_as("coordinator")
    # A coordinator re-roled to clerk and back: pending, and she cannot approve herself.
    admin = login_as("admin")
    assert _edit(admin, app, "test-coordinator-2", role="clerk").status_code == 302
    assert _edit(admin, app, "test-coordinator-2", role="coordinator").status_code == 302
    with app.app_context():
        user = user_by_login("test-coordinator-2")
        assert user.approval_pending is ApprovalReason.role_changed
        with pytest.raises(accounts.AccountError, match="自分のアカウント"):
            accounts.approve(user, user)
        requester = user_by_login("test-coordinator")
        user.approval_requested_by_id = requester.id
        with pytest.raises(accounts.AccountError, match="依頼した本人"):
            accounts.approve(user, requester)
        db.session.rollback()
    assert _decide(coordinator, _user_id(app, "test-coordinator-2"), "approve").status_code == 302
    with app.app_context():
        assert user_by_login("test-coordinator-2").approval_pending is None


@pytest.mark.parametrize(("change", "reason"), [
    ({"role": "supervisor"}, ApprovalReason.role_changed),
    ({"agency": "2"}, ApprovalReason.agency_changed),
    ({"new_password": TEMPORARY}, ApprovalReason.password_reset),
])
def test_every_step_that_could_hand_over_an_account_needs_approval(app, login_as, sample,
                                                                   change, reason):
    assert _edit(login_as("admin"), app, "test-clerk", **change).status_code == 302
    with app.app_context():
        assert user_by_login("test-clerk").approval_pending is reason


def test_a_rejected_account_is_deactivated(app, login_as, sample):
    _create(login_as("admin"))
    assert _decide(login_as("coordinator"), _user_id(app, "new-coordinator"),
                   "reject").status_code == 302
    with app.app_context():
        user = user_by_login("new-coordinator")
        assert user.active is False and user.approval_pending is None


def test_accounts_without_case_content_need_no_approval(app, login_as, sample):
    response = _create(login_as("admin"), {**NEW_COORDINATOR, "login": "second-admin",
                                           "role": "admin"})
    assert response.status_code == 302
    assert _sign_in(app, "second-admin", TEMPORARY)[1].status_code == 302


def _action(admin, app, login, action):
    with app.app_context():
        user = user_by_login(login)
        rowversion = f"{user.id}:{user.version}"
    return admin.post("/admin/user/action/", data={
        "action": action, "rowid": str(user.id), "rowversion": rowversion,
        "csrf_token": csrf_token(admin, "/admin/user/")})


def test_deactivate_and_reactivate(app, login_as, sample):
    admin = login_as("admin")
    assert _action(admin, app, "test-supervisor", "deactivate").status_code == 302
    assert _sign_in(app, "test-supervisor", PASSWORD)[1].status_code == 200
    assert _action(admin, app, "test-supervisor", "reactivate").status_code == 302
    with app.app_context():
        user = user_by_login("test-supervisor")
        assert user.active and user.approval_pending is ApprovalReason.reactivated
    _decide(login_as("coordinator"), _user_id(app, "test-supervisor"), "approve")
    assert _sign_in(app, "test-supervisor", PASSWORD)[1].status_code == 302


def test_the_administrator_cannot_deactivate_herself(app, login_as, sample):
    admin = login_as("admin")
    _action(admin, app, "test-admin", "deactivate")
    with app.app_context():
        assert user_by_login("test-admin").active


def test_a_reset_password_must_be_changed_at_the_next_login(app, login_as, sample):
    admin = login_as("admin")
    assert _edit(admin, app, "test-admin", new_password=TEMPORARY).status_code == 302
    client, response = _sign_in(app, "test-admin", TEMPORARY)
    assert response.status_code == 302
    blocked = client.get("/admin/user/")
    assert blocked.headers["Location"].endswith("/admin/own_account/")
    page = client.get("/admin/own_account/").get_data(as_text=True)
    assert "管理者が再設定したパスワードのままです" in page
    new = "港の灯台と 三毛猫の昼寝"
    response = post_form(client, "/admin/own_account/", {
        "current": TEMPORARY, "new": new, "confirm": new}, target="/admin/own_account/password")
    assert response.status_code == 302
    assert client.get("/admin/user/").status_code == 200
    with app.app_context():
        assert user_by_login("test-admin").must_change_password is False


def test_a_weak_password_is_refused_with_a_japanese_explanation(app, login_as, sample):
    response = _create(login_as("admin"), {**NEW_COORDINATOR, "new_password": "aaaaaaaaaaaa"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "推測されやすいパスワードです" in body and "同じ文字や語の繰り返し" in body
    with app.app_context():
        assert user_by_login("new-coordinator") is None


def test_first_coordinator_from_the_command_line(app):
    runner = app.test_cli_runner()
    with app.app_context():
        db.session.execute(sa.update(User).where(User.role == Role.coordinator)
                           .values(active=False))
        db.session.commit()
    first = runner.invoke(args=["create-user", "--login", "first", "--role", "coordinator",
                                "--password-stdin"], input=TEMPORARY + "\n")
    assert first.exit_code == 0 and "最初の調整担当者" in first.output
    second = runner.invoke(args=["create-user", "--login", "second", "--role", "coordinator",
                                 "--password-stdin"], input=TEMPORARY + "\n")
    assert second.exit_code == 0 and "承認するまでログインできません" in second.output
    with app.app_context():
        assert user_by_login("first").approval_pending is None
        assert user_by_login("second").approval_pending is ApprovalReason.created


def test_the_coordinators_home_counts_pending_accounts(app, login_as, sample):
    _create(login_as("admin"))
    home = login_as("coordinator").get("/admin/").get_data(as_text=True)
    assert re.search(r"アカウントの承認待ち.*?data-panel-number>1<", home, re.S)
