"""The demo data: every entity filled, clearly fictional, and never loaded over real data."""

import sqlalchemy as sa

from kyogikai.models import (
    Agency,
    Case,
    CaseReview,
    Companion,
    Consent,
    Meeting,
    MeetingKind,
    User,
    db,
)


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_demo_data_fills_every_entity(app):
    runner = app.test_cli_runner()
    with app.app_context():
        # The fixture's baseline users exist; the command refuses unless forced.
        refused = runner.invoke(args=["demo-data"])
        assert refused.exit_code != 0 and "既に利用者" in refused.output
        result = runner.invoke(args=["demo-data", "--force"])
        assert result.exit_code == 0, result.output
        assert "調整担当者: ログインID demo-coordinator" in result.output
        assert _count(Agency) >= 15
        assert 35 <= _count(Case) <= 45
        assert _count(Companion) > 0 and _count(Consent) >= 35 and _count(CaseReview) > 0
        kinds = set(db.session.scalars(sa.select(Meeting.kind)).all())
        assert kinds == set(MeetingKind)
        assert _count(User) == 10
        refused = runner.invoke(args=["demo-data"])
        assert "既にケースがあります" in refused.output


def test_demo_pages_render_in_japanese(app, login_as):
    from tests.english import english_words

    with app.app_context():
        app.test_cli_runner().invoke(args=["demo-data", "--force"])
    client = login_as("coordinator")
    for url in ("/admin/case/", "/admin/meeting/", "/admin/consent/", "/admin/woman/"):
        response = client.get(url)
        assert response.status_code == 200
        assert not english_words(response.get_data(as_text=True)), url


def test_demo_consents_cover_the_agencies_working_on_each_case(app):
    """As the consent gate asks: a demo agency's staff see the cases their agency works on, and
    a case meeting of a case's own agencies passes the gate."""
    with app.app_context():
        app.test_cli_runner().invoke(args=["demo-data", "--force"])
        for case in db.session.scalars(sa.select(Case)):
            covered = {agency.id for consent in case.woman.consents for agency in consent.agencies}
            working = ({role.agency_id for role in case.role_assignments}
                       | {agency.id for link in case.meeting_links
                          for agency in link.meeting.agencies})
            assert working <= covered, case.number
