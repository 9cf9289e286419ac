"""The test database itself: every test starts from the baseline, with the same ids.

On PostgreSQL also the one-transaction emulation (tests/conftest.py OneTransaction): a read-only
connection ends nothing, a rollback undoes only the writes, interleaved writes fail loudly, and
``real_commits`` really commits.
"""

from pathlib import Path

import pytest
import sqlalchemy as sa

from kyogikai.models import AuditAction, AuditEvent, Concern, db
from kyogikai.policy import audit
from tests.conftest import CONCERNS, PG_URL, InterleavedWrites

needs_pg = pytest.mark.skipif(not PG_URL, reason="the one-transaction emulation is PostgreSQL's")


def _concerns():
    return db.session.scalars(sa.select(Concern.name).order_by(Concern.id)).all()


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_starts_from_the_baseline_with_the_same_ids(app, run):
    # The app is shared: what a test changes in its config or instance folder stays its own.
    assert "LEFT_BY_AN_EARLIER_TEST" not in app.config
    app.config["LEFT_BY_AN_EARLIER_TEST"] = run
    marker = Path(app.instance_path) / "left-by-an-earlier-test"
    assert not marker.exists()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    with app.app_context():
        assert _concerns() == CONCERNS
        concern = Concern(name=f"追加 {run}", sort_order=9)
        db.session.add(concern)
        db.session.commit()
        assert concern.id == len(CONCERNS) + 1


@needs_pg
def test_a_rollback_undoes_the_writes_but_not_another_connections_commit(app):
    with app.app_context():
        db.session.add(Concern(name="取り消される", sort_order=9))
        db.session.flush()
        with db.engine.connect() as other:  # reads and commits: ends nothing of the session's
            assert other.scalar(sa.select(sa.func.count()).select_from(Concern)) == 5
            other.commit()
        db.session.rollback()
        assert _concerns() == CONCERNS
        audit.record(AuditAction.login)  # outside a request: its own connection, committed
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1


@needs_pg
def test_interleaved_writes_fail_instead_of_committing_the_other_one(app):
    with app.app_context():
        db.session.add(Concern(name="未コミット", sort_order=9))
        db.session.flush()
        with pytest.raises(InterleavedWrites):
            audit.record(AuditAction.login)
        db.session.rollback()
        assert _concerns() == CONCERNS
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


@needs_pg
@pytest.mark.real_commits
def test_real_commits_are_visible_to_another_connection(app, database):
    with app.app_context():
        db.session.add(Concern(name="本当に保存", sort_order=9))
        db.session.commit()
    engine = sa.create_engine(database["url"])
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.select(Concern.id).where(Concern.name == "本当に保存")) == 5
    finally:
        engine.dispose()
