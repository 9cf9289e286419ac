"""One declaration per resource (policy/resources.py): what derives from it, and the start-up
check that refuses a half-declared one."""

import dataclasses

import pytest
import sqlalchemy as sa

from kyogikai.app import create_app
from kyogikai.models import Case, Member, Role, db
from kyogikai.policy import matrix, resources, scoping
from kyogikai.policy.resources import FREE_TEXT, RESOURCES, Exempt, problems
from tests.conftest import user_by_login


def _replace(name, **changes):
    return [dataclasses.replace(r, **changes) if r.name == name else r
            for r in resources._DECLARED]


def test_the_declarations_are_complete():
    assert problems() == []


def test_an_undeclared_model_leading_to_a_woman_is_refused():
    declared = [r for r in resources._DECLARED if r.name != "companion"]
    assert any("Companion leads to a woman or a case" in p for p in problems(declared))


def test_a_model_leading_to_a_case_declared_non_personal_is_refused():
    found = problems(_replace("support_record", personal=False))
    assert any("SupportRecord leads to a woman or a case" in p for p in found)


def test_an_undecided_text_column_of_a_personal_resource_is_refused():
    text = {k: v for k, v in RESOURCES["meeting_case"].text.items() if k != "note"}
    found = problems(_replace("meeting_case", text=text))
    assert found == ["meeting_case.note: a text column of a personal resource must be "
                     "FREE_TEXT, ADDRESS or Exempt(reason)"]


def test_an_exemption_needs_a_reason_and_a_real_column():
    found = problems(_replace("case", text={**RESOURCES["case"].text, "number": Exempt(" "),
                                            "nonsense": FREE_TEXT}))
    assert "case.number: Exempt needs a reason" in found
    assert "case.nonsense: text rule for a column that is not String/Text" in found


def test_a_personal_resource_without_a_scope_rule_is_refused():
    assert "consent: a personal resource needs a scope rule" in problems(
        _replace("consent", scope=None))


def test_the_app_does_not_start_with_a_broken_declaration(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "_DECLARED", _replace("case", text={}))
    with pytest.raises(resources.DeclarationError, match="case.note"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})


def test_matrix_labels_and_audit_flags_derive_from_the_declarations():
    assert set(matrix.MATRIX) == {name for name, r in RESOURCES.items() if r.grants}
    assert {name for name, r in RESOURCES.items() if r.personal} == matrix.PERSONAL_RESOURCES
    assert {"case", "woman", "companion", "meeting", "meeting_case"} <= matrix.PERSONAL_RESOURCES
    assert matrix.RESOURCE_LABELS["case"] == RESOURCES["case"].label


def test_every_screen_stands_on_a_declared_resource(app):
    from kyogikai.admin_views.base import SecureModelView

    views = [v for v in app.extensions["admin"][0]._views if isinstance(v, SecureModelView)]
    assert views
    for view in views:
        declared = RESOURCES[view.resource]
        assert declared.model is view.model and view.endpoint == view.resource
        assert str(view.name) == str(declared.label)


def test_a_view_may_not_name_its_own_resource():
    from kyogikai.admin_views.base import SecureModelView

    class Stray(SecureModelView):
        resource = "meeting"

    with pytest.raises(TypeError, match="comes from the model"):
        Stray(Case, db)


def _scoped_count(app, model, login):
    from flask_login import login_user

    with app.test_request_context():
        login_user(user_by_login(login))
        return scoping.scope_model(db.session.query(model), model).count()


def test_an_undeclared_model_gives_no_rows_even_to_the_coordinator(app, sample, monkeypatch):
    assert _scoped_count(app, Member, "test-coordinator") == 1
    monkeypatch.delitem(resources.BY_MODEL, Member)
    assert _scoped_count(app, Member, "test-coordinator") == 0
    assert _scoped_count(app, Case, "test-coordinator") == 1


def test_a_declared_resource_without_a_scope_rule_is_empty_for_agency_staff(app, sample):
    assert RESOURCES["member"].scope is None
    assert _scoped_count(app, Member, "test-agency_staff") == 0
    assert _scoped_count(app, Case, "test-agency_staff") == 1


def test_ids_from_the_outside_are_plain_numbers_in_range():
    assert scoping.parse_id("42") == 42 and scoping.parse_id(7) == 7
    for hostile in ("²", "１２", "٣", "-1", "0", "1e3", " 1", "", None, str(2**31),
                    str(2**63), str(2**64), "9" * 400, True):
        assert scoping.parse_id(hostile) is None, hostile


def test_every_role_is_known_to_the_declarations():
    granted = {role for r in RESOURCES.values() for role in r.grants}
    assert granted == set(Role)
    assert sa.inspect(Case).columns["note"].key in RESOURCES["case"].free_text
