"""Every entity stays editable: each one through its real edit form, as every role the matrix
lets edit it, changing one field and leaving the rest as the form rendered them."""

import pytest

from kyogikai.admin_views.registry import VIEWS
from kyogikai.models import db
from kyogikai.policy.matrix import EDIT, MATRIX
from kyogikai.policy.resources import RESOURCES
from tests.browser_form import form_fields, with_changes

MODELS = {resource: RESOURCES[resource].model for _, resource, _ in VIEWS}

# resource → (form field, typed value, model attribute, expected stored value). Unique columns
# (login, 機関名, 主訴区分, 年度) are posted back unchanged, as a person editing something else does.
CHANGES = {
    "user": ("display_name", "新しい表示名", "display_name", "新しい表示名"),
    "council": ("name", "改称した協議会", "name", "改称した協議会"),
    "agency": ("contact_person", "新しい窓口", "contact_person", "新しい窓口"),
    "member": ("title", "主任", "title", "主任"),
    "concern": ("sort_order", "7", "sort_order", 7),
    "case": ("note", "備考を更新", "note", "備考を更新"),
    "woman": ("note", "備考を更新", "note", "備考を更新"),
    "consent": ("note", "備考を更新", "note", "備考を更新"),
    "case_review": ("situation", "状況を更新", "situation", "状況を更新"),
    "support_record": ("content", "内容を更新", "content", "内容を更新"),
    "meeting": ("place", "別の会議室", "place", "別の会議室"),
    "meeting_case": ("note", "備考を更新", "note", "備考を更新"),
    "business_plan": ("council_members", "構成員を更新", "council_members", "構成員を更新"),
    "annual_report": ("women_attributes", "内訳を更新", "women_attributes", "内訳を更新"),
}

EDITABLE = [(resource, role.value) for resource, grants in MATRIX.items()
            if resource in MODELS for role, actions in grants.items() if EDIT in actions]


def test_every_editable_entity_is_covered():
    assert {resource for resource, _ in EDITABLE} == set(CHANGES)


@pytest.mark.parametrize(("resource", "role"), EDITABLE)
def test_edit_through_the_real_form(app, login_as, sample, resource, role):
    record_id = {**sample, "user": 2}[resource]
    field, typed, attribute, stored = CHANGES[resource]
    client = login_as(role)
    url = f"/admin/{resource}/edit/?id={record_id}"
    page = client.get(url)
    assert page.status_code == 200
    data = with_changes(form_fields(page.get_data(as_text=True)), **{field: typed})
    response = client.post(url, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 302, body[body.find("alert"):][:600]
    with app.app_context():
        record = db.session.get(MODELS[resource], record_id)
        assert getattr(record, attribute) == stored
