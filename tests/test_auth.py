"""Login, logout, lockout, and the anonymous / no-right responses of every view."""

import pytest
import sqlalchemy as sa

from kyogikai.models import AuditAction, AuditEvent, db
from tests.conftest import ROLES, csrf_token, user_by_login


def test_login_page_is_japanese(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "ログインID" in page and "パスワード" in page


@pytest.mark.parametrize("role", ROLES)
def test_each_role_logs_in_and_sees_home(client, auth, role):
    response = auth.login_as(role)
    assert response.headers["Location"].endswith("/admin/")
    home = client.get("/admin/").get_data(as_text=True)
    assert "ようこそ" in home
    assert "ログアウト" in home


def test_wrong_password_is_refused_with_japanese_message(client, auth, app):
    response = auth.login("test-clerk", "wrong password!")
    assert response.status_code == 200
    assert "ログインIDまたはパスワードが正しくありません。" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.login_failed)).all()
        assert [e.login_attempted for e in events] == ["test-clerk"]
        assert "wrong password" not in events[0].detail


def test_unknown_login_gives_the_same_message(auth):
    response = auth.login("nobody", "whatever password")
    assert "ログインIDまたはパスワードが正しくありません。" in response.get_data(as_text=True)


def test_inactive_account_cannot_log_in(client, auth, app):
    with app.app_context():
        user_by_login("test-clerk").active = False
        db.session.commit()
    response = auth.login("test-clerk")
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_logout_ends_the_session(client, auth):
    auth.login_as("clerk")
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_logout_needs_post_with_token(client, auth):
    auth.login_as("clerk")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/agency/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_login_redirects_only_to_same_site(client):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=https://evil.example/", data={
        "login": "test-clerk", "password": "correct horse battery staple", "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"login": "test-clerk",
                                           "password": "correct horse battery staple"})
    assert response.status_code == 400
    assert "画面を開き直してください" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_agency_staff_account_needs_an_agency(app, login_as):
    from kyogikai.models import User
    from tests.conftest import post_form

    response = post_form(login_as("admin"), "/admin/user/new/", {
        "login": "new-staff", "display_name": "", "role": "agency_staff", "agency": "__None",
        "member": "__None", "active": "y", "new_password": "a long enough password"})
    assert "関係機関担当者には所属機関を指定してください。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.login == "new-staff")) is None
