"""Every role × every screen × every action, against tests/data/authorization.toml.

The screens come from the registry (which derives them from policy/resources.py), so a new
resource is tested as soon as it has a screen, and the data file must say what to expect of it.
The expectations themselves are written independently of the declared grants (a test that
derived them too would prove nothing); requests go through the real app, so a view that
forgets the policy on any path fails here.
"""

import tomllib
from pathlib import Path

import pytest

from kyogikai.admin_views.registry import CUSTOM_VIEWS, VIEWS
from kyogikai.models import LoginThrottle, Role, ThrottleScope, db
from kyogikai.policy.resources import RESOURCES
from tests.conftest import csrf_token

EXPECTED = tomllib.loads((Path(__file__).parent / "data" / "authorization.toml").read_text())
ROLES = [role.value for role in Role]
MODEL_SCREENS = [resource for _view, resource, _group in VIEWS]
CUSTOM_SCREENS = [endpoint for *_rest, endpoint in CUSTOM_VIEWS] + ["case_access_log"]


def test_the_data_file_covers_every_screen_and_only_declared_resources():
    assert set(EXPECTED) == set(MODEL_SCREENS) | set(CUSTOM_SCREENS)
    assert set(EXPECTED) <= set(RESOURCES)
    for resource in MODEL_SCREENS:
        assert set(EXPECTED[resource]) == {"list", "details", "create", "edit", "delete",
                                           "export"}, resource
ACTIONS = ("list", "details", "create", "edit", "export", "delete", "bulk_delete")


def _ids(sample):
    return {**sample, "user": 1, "audit_event": 1, "login_throttle": 1}


def _request(client, resource, action, record_id):
    base = f"/admin/{resource}/"
    if action == "list":
        return client.get(base)
    if action == "details":
        return client.get(f"{base}details/?id={record_id}")
    if action == "create":
        return client.get(f"{base}new/")
    if action == "edit":
        return client.get(f"{base}edit/?id={record_id}")
    if action == "export":
        return client.get(f"{base}export/csv/")
    token = csrf_token(client, "/admin/")
    if action == "bulk_delete":
        return client.post(f"{base}action/", data={"action": "delete", "rowid": str(record_id),
                                                   "csrf_token": token})
    return client.post(f"{base}delete/", data={"id": str(record_id), "csrf_token": token})


def _expected(resource, action, role):
    key = "delete" if action == "bulk_delete" else action
    if role not in EXPECTED[resource].get(key, []):
        return 403
    if resource == "case" and action == "details":
        return 302  # one page per case: the bare record leads to the case page
    return 302 if action in ("delete", "bulk_delete") else 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("resource", MODEL_SCREENS)
def test_model_screen_matrix(app, login_as, sample, resource, role):
    if resource == "login_throttle":
        with app.app_context():
            db.session.add(LoginThrottle(scope=ThrottleScope.pair, login="someone",
                                         remote_addr="10.0.0.1", failures=6))
            db.session.commit()
    client = login_as(role)
    record_id = _ids(sample)[resource]
    got = {action: _request(client, resource, action, record_id).status_code
           for action in ACTIONS}
    want = {action: _expected(resource, action, role) for action in ACTIONS}
    assert got == want


@pytest.mark.parametrize("role", ROLES)
def test_custom_screen_matrix(login_as, sample, role):
    client = login_as(role)
    got = {
        ("address_secrecy", "index"): client.get("/admin/address_secrecy/").status_code,
        ("address_secrecy", "decide"): client.post("/admin/address_secrecy/decide", data={
            "kind": "woman", "id": str(sample["woman"]), "decision": "reject",
            "csrf_token": csrf_token(client, "/admin/")}).status_code,
        ("case_access_log", "index"): client.get(
            f"/admin/case_access_log/?case_id={sample['case']}").status_code,
        ("ledger_import", "index"): client.get("/admin/ledger_import/").status_code,
        ("account_approval", "index"): client.get("/admin/account_approval/").status_code,
        ("account_approval", "decide"): client.post("/admin/account_approval/decide", data={
            "id": "1", "decision": "reject",
            "csrf_token": csrf_token(client, "/admin/")}).status_code,
        ("own_account", "index"): client.get("/admin/own_account/").status_code,
        ("own_account", "password"): client.post("/admin/own_account/password", data={
            "current": "x", "new": "y", "confirm": "y",
            "csrf_token": csrf_token(client, "/admin/")}).status_code,
        ("forms", "index"): client.get("/admin/forms/").status_code,
        ("forms", "form1"): client.get(
            "/admin/forms/form1/?fiscal_year=2025&format=xlsx").status_code,
        ("forms", "preview"): client.get(
            "/admin/forms/form3/preview/?fiscal_year=2025").status_code,
    }
    case, token = sample["case"], csrf_token(client, "/admin/")
    got.update({
        ("case_page", "index"): client.get(f"/admin/case_page/?id={case}").status_code,
        ("case_page", "end"): client.post(f"/admin/case_page/end?id={case}", data={
            "status": "closed", "ended_on": "", "end_reason": "", "seen": "",
            "csrf_token": token}).status_code,
        ("case_page", "withdraw"): client.post(f"/admin/case_page/withdraw?id={case}", data={
            "consent": str(sample["consent"]), "agency": "2", "withdrawn_on": "",
            "csrf_token": token}).status_code,
        ("role_editor", "index"): client.get(f"/admin/role_editor/?case={case}").status_code,
        ("role_editor", "change"): client.post(f"/admin/role_editor/change?case={case}", data={
            "function": "coordination", "agency": "", "meeting": "", "seen": "",
            "csrf_token": token}).status_code,
        ("role_editor", "correct"): client.post(f"/admin/role_editor/correct?case={case}", data={
            "row": "", "reason": "", "seen": "", "csrf_token": token}).status_code,
        ("role_editor", "designate"): client.post(
            f"/admin/role_editor/designate?case={case}", data={
                "designation_agency": "", "designation_reason": "", "seen": "",
                "csrf_token": token}).status_code,
        ("intake", "index"): client.get("/admin/intake/").status_code,
        ("intake", "save"): client.post("/admin/intake/", data={
            "name": "", "csrf_token": token}).status_code,
        ("case_conference", "index"): client.get("/admin/case_conference/").status_code,
        ("case_conference", "save"): client.post("/admin/case_conference/", data={
            "held_on": "", "csrf_token": token}).status_code,
        ("case_conference", "gate"): client.get(
            f"/admin/case_conference/gate?held_on=2025-09-01&agencies=1&cases={case}"
        ).status_code,
        ("practitioner_review", "index"): client.get("/admin/practitioner_review/").status_code,
        ("practitioner_review", "new"): client.post("/admin/practitioner_review/new", data={
            "held_on": "", "csrf_token": token}).status_code,
    })
    # What an allowed person gets: the page, or the form again with what was wrong (200), or
    # the case page after a recorded step (302).
    answers = {"index": 200, "decide": 302, "password": 200, "end": 200, "withdraw": 302,
               "change": 200, "correct": 200, "designate": 200, "save": 200, "gate": 200,
               "new": 200, "form1": 200, "preview": 200}
    want = {(screen, action): answers[action]
            if role in EXPECTED[screen][action] else 403 for screen, action in got}
    assert got == want


@pytest.mark.parametrize("resource", MODEL_SCREENS + CUSTOM_SCREENS)
def test_anonymous_is_sent_to_login_everywhere(client, sample, resource):
    urls = [f"/admin/{resource}/"]
    if resource in MODEL_SCREENS:
        urls += [f"/admin/{resource}/details/?id=1", f"/admin/{resource}/new/",
                 f"/admin/{resource}/export/csv/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_matrix_grants_nothing_the_data_file_does_not():
    """Every (resource, role, action) the policy grants appears in the expectations."""
    from kyogikai.policy.matrix import MATRIX

    for resource, expected in EXPECTED.items():
        if resource not in MODEL_SCREENS:
            continue
        for role, actions in MATRIX[resource].items():
            for action in actions:
                assert role.value in expected[action], (resource, role.value, action)


def test_the_printed_matrix_is_current():
    from kyogikai.policy.matrix_doc import markdown

    printed = (Path(__file__).parent.parent / "docs" / "access-matrix.md").read_text()
    assert printed == markdown(), "run: python -m kyogikai.policy.matrix_doc > docs/access-matrix.md"
