"""Every account, session and throttle screen answers in Japanese, the audit log's new entries
included."""

import re

import pytest

from kyogikai.models import Role
from tests.conftest import PASSWORD, AuthActions, csrf_token, post_form
from tests.english import english_words
from tests.test_second_factor import enrol

# Data, not language: the logins of the test accounts and a TOTP key.
DATA = re.compile(r"\b(?:test|new)-[a-z_]+\b|(?<=totp-secret\">)[A-Z2-7]+")


def _japanese(response):
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:300]
    assert '<html lang="ja">' in body
    words = english_words(DATA.sub("", body))
    assert words == set(), sorted(words)[:10]


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_own_account_page(login_as, role):
    _japanese(login_as(role).get("/admin/own_account/"))


def test_second_factor_pages(app, login_as, sample):
    client = login_as("clerk")
    token = csrf_token(client, "/admin/own_account/")
    _japanese(client.post("/admin/own_account/second-factor/start",
                          data={"password": PASSWORD, "csrf_token": token}))
    _japanese(client.get("/admin/own_account/"))
    enrol(login_as("supervisor"))
    signing_in = app.test_client()
    AuthActions(signing_in).login("test-supervisor")
    _japanese(signing_in.get("/login/second-factor"))


def test_administration_pages_after_a_busy_day(app, login_as, sample):
    attacker = app.test_client()
    for _ in range(7):
        AuthActions(attacker).login("test-clerk", "wrong password!")
    admin = login_as("admin")
    post_form(admin, "/admin/user/new/", {
        "login": "new-clerk", "display_name": "新任 事務", "role": "clerk", "agency": "1",
        "member": "__None", "active": "y", "new_password": "夕焼けの港町と 白い灯台"})
    AuthActions(login_as("supervisor")).logout()
    for url in ("/admin/user/", "/admin/user/details/?id=2", "/admin/user/edit/?id=2",
                "/admin/login_throttle/", "/admin/audit_event/"):
        _japanese(admin.get(url))
    _japanese(login_as("coordinator").get("/admin/account_approval/"))
