"""Custom screens on the same rails as the generated ones (SecureView's helpers): a scoped query,
a record fetched in scope or 404 (audited), an audited list, and masking of what is shown."""

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_admin import expose

from kyogikai.admin_views.base import SecureView
from kyogikai.models import AuditAction, AuditEvent, CaseReview, Woman, db
from kyogikai.policy.masking import MASK
from tests.conftest import AuthActions, _create_app
from tests.test_scoping import other  # noqa: F401 (fixture: a case outside the police's scope)

pytestmark = pytest.mark.real_commits  # on PostgreSQL: a fresh app of the test's own

ADDRESS = "緑町1丁目26番3号"

PAGE = """{% for review in reviews %}<p class="review">{{ review.case.number }}:
{{ shown(review, 'situation') }}</p>{% endfor %}{{ shown(woman, 'street') }}|{{ masked(note) }}"""


class ReviewDigest(SecureView):
    """A custom screen as issue-10/11 screens will write them."""

    resource = "case_review"

    @expose("/")
    def index(self):
        reviews = db.session.scalars(self.scoped_select().order_by(CaseReview.id)).all()
        self.audit_list(self.resource, len(reviews))
        woman = self.get_one_or_404("woman", self.id_arg("woman"))
        return render_template_string(PAGE, reviews=reviews, woman=woman, shown=self.shown,
                                      masked=self.masked, note=f"住所は{ADDRESS}です")

    @expose("/one/")
    def one(self):
        review = self.get_one_or_404("case_review", self.id_arg())
        return self.masked(review.situation)


@pytest.fixture
def digest_app(app, database, tmp_path):
    """An app with the custom screen registered before it serves its first request."""
    if database["kind"] == "sqlite":  # the shared app has served requests already
        own = _create_app(f"sqlite:///{database['path']}", tmp_path / "digest")
    else:
        own = app
    own.extensions["admin"][0].add_view(ReviewDigest(name="digest", endpoint="digest"))
    yield own
    if own is not app:
        with own.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def login_as(digest_app):
    def _login(role):
        client = digest_app.test_client()
        AuthActions(client).login_as(role)
        return client
    return _login


@pytest.fixture
def digest(app, sample, other):  # noqa: F811
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        woman.street, woman.address_hidden = ADDRESS, True
        review = db.session.get(CaseReview, sample["case_review"])
        review.situation = f"{ADDRESS.replace('1丁目', '１丁目')}に転居"
        db.session.commit()
    return {**sample, "other": other}


def _events(app, action):
    with app.app_context():
        db.session.expire_all()
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).all()


def test_the_scoped_query_shows_agency_staff_only_their_reviews(login_as, digest):
    body = login_as("agency_staff").get(f"/admin/digest/?woman={digest['woman']}").get_data(
        as_text=True)
    assert body.count('class="review"') == 1 and digest["case_number"] in body
    assert digest["other"]["number"] not in body
    coordinator = login_as("coordinator").get(f"/admin/digest/?woman={digest['woman']}")
    assert coordinator.get_data(as_text=True).count('class="review"') == 2


def test_what_the_screen_shows_is_masked(login_as, digest):
    body = login_as("clerk").get(f"/admin/digest/?woman={digest['woman']}").get_data(
        as_text=True)
    assert "緑町" not in body and body.count(MASK) == 3
    coordinator = login_as("coordinator").get(f"/admin/digest/?woman={digest['woman']}")
    assert ADDRESS in coordinator.get_data(as_text=True)


def test_lists_and_reads_are_audited(app, login_as, digest):
    login_as("clerk").get(f"/admin/digest/?woman={digest['woman']}")
    assert [e.detail for e in _events(app, AuditAction.view_list)
            if e.object_type == "case_review"] == ["rows=2"]
    assert [(e.object_type, e.object_id) for e in _events(app, AuditAction.view_record)] == [
        ("woman", digest["woman"])]


@pytest.mark.parametrize("value", ["²", "１", str(2**63), str(2**64), "abc", "-1", ""])
def test_hostile_or_missing_ids_are_404(login_as, digest, value):
    assert login_as("clerk").get(f"/admin/digest/one/?id={value}").status_code == 404


def test_out_of_scope_is_the_same_404_and_recorded(app, login_as, digest):
    client = login_as("agency_staff")
    assert client.get(f"/admin/digest/one/?id={digest['other']['case_review']}").status_code == 404
    assert client.get("/admin/digest/one/?id=99999").status_code == 404
    denied = [(e.object_type, e.object_id) for e in _events(app, AuditAction.denied)]
    assert denied == [("case_review", digest["other"]["case_review"]), ("case_review", 99999)]
    assert client.get(f"/admin/digest/one/?id={digest['case_review']}").status_code == 200


def test_a_custom_screen_must_name_a_declared_resource():
    class Undeclared(SecureView):
        resource = "nothing_like_this"

    with pytest.raises(TypeError, match="not declared"):
        Undeclared(name="x", endpoint="x")
