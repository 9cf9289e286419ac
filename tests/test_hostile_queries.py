"""Hostile query values are a 400 or a 404 on every screen, never a 500 (nor a silent success).

The suite runs with TESTING on, so an exception inside a view would propagate and fail the test
loudly rather than hide behind a 500 page.
"""

import json
import re

import pytest

from kyogikai.admin_views.registry import VIEWS
from kyogikai.models import Role
from kyogikai.policy.matrix import MATRIX
from tests.conftest import csrf_token

BIG = str(2**64)
# Every screen, as a role that may list it (the coordinator; システム管理者 for accounts and log).
READER = {resource: next(role for role in (Role.coordinator, Role.admin)
                         if "list" in MATRIX[resource].get(role, ()))
          for _view, resource, _group in VIEWS}
LISTS = list(READER)
FILTERS_RE = re.compile(r'id="filter-groups-data"[^>]*>(.*?)</div>', re.S)


def _filter_args(client, resource):
    """(label, arg, options) of every filter, read from the list page as a browser would."""
    body = client.get(f"/admin/{resource}/").get_data(as_text=True)
    match = FILTERS_RE.search(body)
    groups = json.loads(match.group(1)) if match else {}
    return [(label, item["arg"], item.get("options")) for label, items in groups.items()
            for item in items]


HOSTILE_LIST_ARGS = [
    f"page={BIG}", "page=-1", "page=²", "page=1e3", f"page_size={BIG}", f"sort={BIG}", "sort=²",
    f"desc={BIG}", "search=" + "+".join(["語"] * 2000), "search=" + "あ" * 1000,
    "flt0_nonexistent=1",
]


@pytest.mark.parametrize("resource", LISTS)
def test_list_arguments(login_as, sample, resource):
    client = login_as(READER[resource].value)
    got = {query[:30]: client.get(f"/admin/{resource}/?{query}").status_code
           for query in HOSTILE_LIST_ARGS}
    assert got == {query[:30]: 400 for query in HOSTILE_LIST_ARGS}
    assert client.get(f"/admin/{resource}/?page=0&sort=0&desc=1&search=x").status_code == 200


@pytest.mark.parametrize("resource", LISTS)
def test_every_filter_refuses_hostile_values(login_as, sample, resource):
    client = login_as(READER[resource].value)
    for label, arg, options in _filter_args(client, resource):
        for value in ("²", BIG, "-" + BIG, "nan", "inf", "1e400", "zzz-不明", "1,²"):
            response = client.get(f"/admin/{resource}/?flt0_{arg}={value}")
            assert response.status_code in (200, 400), (label, value, response.status_code)
            if options:  # a fixed or database-read list: anything else is refused
                assert response.status_code == 400, (label, value)
        if options:
            good = options[0][0]
            assert client.get(f"/admin/{resource}/?flt0_{arg}={good}").status_code == 200


@pytest.mark.parametrize("resource", LISTS)
def test_record_ids(login_as, sample, resource):
    client = login_as(READER[resource].value)
    granted = MATRIX[resource].get(READER[resource], ())
    token = csrf_token(client, "/admin/")
    for value in ["²", BIG, str(2**63), str(2**31), "-1", "0", "abc", "１"]:
        assert client.get(f"/admin/{resource}/details/?id={value}").status_code == 404, value
        if "edit" in granted:
            assert client.get(f"/admin/{resource}/edit/?id={value}").status_code == 404, value
        if "delete" in granted:
            assert client.post(f"/admin/{resource}/delete/", data={
                "id": value, "csrf_token": token}).status_code == 404, value
            assert client.post(f"/admin/{resource}/action/", data={
                "action": "delete", "rowid": value, "csrf_token": token}).status_code == 404


def test_too_many_bulk_ids(login_as, sample):
    client = login_as("coordinator")
    response = client.post("/admin/case/action/", data={
        "action": "delete", "rowid": [str(i) for i in range(1, 600)],
        "csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 400


@pytest.mark.parametrize("query", [
    f"offset={BIG}", "offset=-1", "offset=²", f"limit={BIG}", "query=" + "あ" * 500,
])
def test_picker_arguments(login_as, sample, query):
    client = login_as("coordinator")
    response = client.get(f"/admin/case_review/ajax/lookup/?name=case&{query}")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.get_json() == []


@pytest.mark.parametrize("url", [
    "/admin/case_access_log/?case_id=²", f"/admin/case_access_log/?case_id={BIG}",
])
def test_custom_screens(login_as, sample, url):
    assert login_as("coordinator").get(url).status_code == 404


def test_a_hostile_secrecy_decision_is_refused_plainly(login_as, sample):
    client = login_as("coordinator")
    for value in ("²", BIG, "-1"):
        response = client.post("/admin/address_secrecy/decide", data={
            "kind": "woman", "id": value, "decision": "confirm",
            "csrf_token": csrf_token(client, "/admin/")}, follow_redirects=True)
        assert response.status_code == 200
        assert "対象の記録が見つかりません。" in response.get_data(as_text=True)
