"""Every screen a coordinator can reach answers 200 and shows no English."""

import pytest

from kyogikai.models import Role
from kyogikai.policy.matrix import CREATE, DETAILS, EDIT, LIST, MATRIX
from tests.english import english_words

CASE_SCREENS = ["case", "woman", "consent", "case_review", "support_record", "role_assignment",
                "meeting", "meeting_case", "business_plan", "annual_report", "council", "agency",
                "member", "concern"]


def _pages(role: Role, ids: dict):
    for resource in CASE_SCREENS:
        granted = MATRIX[resource].get(role, frozenset())
        if LIST in granted:
            yield f"/admin/{resource}/"
        if CREATE in granted:
            yield f"/admin/{resource}/new/"
        if EDIT in granted:
            yield f"/admin/{resource}/edit/?id={ids[resource]}"
        if DETAILS in granted:
            # A case's whole page is the case page (the bare record redirects there).
            yield (f"/admin/case_page/?id={ids[resource]}" if resource == "case"
                   else f"/admin/{resource}/details/?id={ids[resource]}")


def test_coordinator_reaches_every_entity_screen(login_as, sample):
    """The coordinator runs the council: list, details, create and edit of every case entity,
    each answering 200 with its own page (not a redirect, not an error page)."""
    client = login_as("coordinator")
    case_entities = ["case", "woman", "consent", "case_review", "support_record",
                     "role_assignment", "meeting", "meeting_case", "business_plan",
                     "annual_report"]
    # Two exceptions, by design: role history is never edited (a correction is a new row), and
    # a case's details are its case page (the bare record redirects there).
    expected = {"/admin/role_assignment/edit/": 403, "/admin/case/details/": 302}
    for resource in case_entities:
        for url in (f"/admin/{resource}/", f"/admin/{resource}/new/",
                    f"/admin/{resource}/edit/?id={sample[resource]}",
                    f"/admin/{resource}/details/?id={sample[resource]}"):
            response = client.get(url)
            status = expected.get(url.split("?")[0], 200)
            assert response.status_code == status, url
            if status == 200:
                assert f'href="/admin/{resource}/' in response.get_data(as_text=True), url


@pytest.mark.parametrize("role", list(Role))
def test_every_page_is_200_and_japanese(login_as, sample, role):
    client = login_as(role.value)
    failures = {}
    for url in ["/admin/", *_pages(role, sample)]:
        response = client.get(url)
        body = response.get_data(as_text=True)
        english = english_words(body)
        if response.status_code != 200 or english:
            failures[url] = (response.status_code, sorted(english)[:10])
        else:
            assert '<html lang="ja">' in body
    assert failures == {}
