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
