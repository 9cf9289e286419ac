"""Limits: request size, and files holding secrets readable by the service account alone."""

import os
import stat

import pytest
import sqlalchemy as sa

from kyogikai.app import create_app
from kyogikai.config import InsecureFilesError
from kyogikai.models import Woman, db
from tests.conftest import csrf_token

MB = 1024 * 1024


def _woman(note: str, token: str) -> dict:
    return {"name": "大きな 備考", "furigana": "オオキナ ビコウ", "note": note, "csrf_token": token,
            "referral_route": "__None"}


def _women(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Woman))


def test_a_3_mb_post_is_a_japanese_413_and_stores_nothing(app, login_as):
    client = login_as("clerk")
    token = csrf_token(client, "/admin/woman/new/")
    response = client.post("/admin/woman/new/", data=_woman("a" * 3 * MB, token))
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert '<html lang="ja">' in body and "送信された内容が大きすぎます（上限 2 MB）" in body
    assert _women(app) == 0


def test_a_long_note_under_the_limit_is_saved(app, login_as):
    client = login_as("clerk")
    token = csrf_token(client, "/admin/woman/new/")
    response = client.post("/admin/woman/new/", data=_woman("a" * 1_200_000, token))
    assert response.status_code == 302
    assert _women(app) == 1


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _app(instance, database):
    return create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "x",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})


def test_a_new_instance_is_private(tmp_path):
    instance = tmp_path / "instance"
    database = instance / "kyogikai.sqlite3"
    app = _app(instance, database)
    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE t (x)"))
        db.session.commit()
        db.engine.dispose()
    assert _mode(instance) == 0o700
    assert _mode(database) == 0o600
    for suffix in ("-wal", "-shm"):
        path = f"{database}{suffix}"
        if os.path.exists(path):
            assert _mode(path) == 0o600, suffix


def test_loose_modes_are_tightened_at_start_up(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)
    database = instance / "kyogikai.sqlite3"
    for path in (database, instance / "secret_key", instance / "demo-logins.txt"):
        path.write_text("x")
        os.chmod(path, 0o644)
    _app(instance, database)
    assert _mode(instance) == 0o700
    for path in (database, instance / "secret_key", instance / "demo-logins.txt"):
        assert _mode(path) == 0o600, path


def test_a_mode_that_cannot_be_tightened_stops_the_start(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    secret = instance / "secret_key"
    secret.write_text("x")
    os.chmod(secret, 0o644)
    real_chmod = type(secret).chmod

    def refuse(self, mode, **kwargs):
        if self == secret:
            raise PermissionError("not the owner")
        return real_chmod(self, mode, **kwargs)

    monkeypatch.setattr(type(secret), "chmod", refuse)
    with pytest.raises(InsecureFilesError, match="所有者だけが読める"):
        _app(instance, tmp_path / "x.sqlite3")
