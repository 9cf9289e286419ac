"""Backup and restore (kyogikai/ops/backup.py, ``flask backup`` / ``flask restore``) on the engine
under test: a backup taken while the panel writes restores to an identical database."""

import os
import stat
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from kyogikai.app import create_app
from kyogikai.demo import load_demo_data
from kyogikai.models import Case, Companion, Relationship, Woman, db
from kyogikai.ops import backup as ops
from tests.conftest import FAST_ARGON2, PG_URL


def _app(url: str, instance: Path, key_file: Path | None):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                       "INSTANCE_PATH": str(instance),
                       "BACKUP_KEY_FILE": str(key_file) if key_file else "", **FAST_ARGON2})


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "backup.key"
    path.write_bytes(Fernet.generate_key())
    return path


@pytest.fixture
def panel(fresh_database_url, tmp_path, key_file):
    """A migrated database holding the demo data (every entity), and an attachment."""
    app = _app(fresh_database_url, tmp_path / "instance", key_file)
    with app.app_context():
        upgrade()
        load_demo_data(seed=7)
    attachments = Path(app.instance_path) / "attachments" / "2025"
    attachments.mkdir(parents=True)
    (attachments / "議事録.pdf").write_bytes(b"%PDF-1.4 fictional minutes")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def empty_target(tmp_path, key_file):
    """A second, empty database of the same engine (PostgreSQL: a new database, same schema)."""
    if not PG_URL:
        yield _app(f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "restored", key_file)
        return
    name = f"r_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    holder = {}

    def make(schema: str):
        url = make_url(PG_URL).set(database=name)
        if schema != "public":
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            engine.dispose()
            url = url.update_query_dict({"options": f"-csearch_path={schema}"})
        holder["app"] = _app(url.render_as_string(hide_password=False), tmp_path / "restored",
                             key_file)
        return holder["app"]

    yield make
    if "app" in holder:
        with holder["app"].app_context():
            db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _target(empty_target, source_app):
    if not isinstance(empty_target, Flask):
        with source_app.app_context(), db.engine.connect() as conn:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        return empty_target(schema)
    return empty_target


def _rows(app) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order, as plain tuples."""
    with app.app_context(), db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        found = {}
        for name in sorted(inspector.get_table_names()):
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            order = list(table.primary_key.columns) or list(table.columns)
            found[name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
        return found


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_backup_is_encrypted_private_and_restores_row_for_row(panel, empty_target, tmp_path):
    out = tmp_path / "panel.backup"
    code, output = _cli(panel, "backup", "--out", str(out))
    assert code == 0, output
    assert "暗号化あり" in output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = out.read_bytes()
    assert data.startswith(ops.FERNET_PREFIX)
    assert "青木".encode() not in data and b"sqlite" not in data.lower()

    before = _rows(panel)
    target = _target(empty_target, panel)
    code, output = _cli(target, "restore", str(out))
    assert code == 0, output
    after = _rows(target)
    # The backup's own audit event was written after the snapshot, on the source only.
    assert len(before["audit_events"]) == len(after["audit_events"]) + 1
    before["audit_events"] = before["audit_events"][:-1]
    assert set(after) == set(before) and len(after) > 20
    for table in before:
        assert after[table] == before[table], table
    restored = Path(target.instance_path) / "attachments" / "2025" / "議事録.pdf"
    assert restored.read_bytes() == b"%PDF-1.4 fictional minutes"
    with target.app_context():
        assert target.test_client().get("/healthz").status_code == 200


def test_the_manifest_tells_time_revision_counts_and_checksums(panel, key_file, tmp_path):
    out = tmp_path / "panel.backup"
    with panel.app_context():
        manifest = ops.create_backup(out, key_file.read_bytes())
        read = ops.read_backup(out, key_file.read_bytes(), tmp_path)
    assert read.data == manifest.data
    assert manifest.data["created_at"].endswith("+00:00")
    assert len(manifest.revision) == 1
    assert manifest.tables["cases"] >= 35 and manifest.tables["alembic_version"] == 1
    assert set(manifest.data["files"]) == {
        ops.PG_MEMBER if PG_URL else ops.SQLITE_MEMBER, "attachments/2025/議事録.pdf"}
    assert all(len(f["sha256"]) == 64 for f in manifest.data["files"].values())


def test_backup_during_concurrent_writes_restores_a_consistent_snapshot(
        panel, empty_target, tmp_path):
    """A writer adds a woman, her companion and her case per transaction while the backup runs.
    Every restored row equals its source row; what is missing is exactly the transactions
    committed after the snapshot, whole."""
    written, stop, failures = [0], threading.Event(), []

    def writer():
        try:
            with panel.app_context():
                serial = 9000
                while not stop.is_set():
                    serial += 1
                    woman = Woman(name=f"書込 {serial}", furigana="カキコミ", prefecture="架空県")
                    woman.companions.append(Companion(name=f"同伴 {serial}",
                                                      relationship_to_woman=Relationship.child))
                    db.session.add(Case(woman=woman, received_on=date(2025, 6, 1),
                                        number=f"W-{serial}", fiscal_year=2025, serial=serial))
                    db.session.commit()
                    written[0] += 1
                db.session.remove()
        except Exception as error:  # reported by the main thread
            failures.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 20 and not failures:
            threading.Event().wait(0.01)
        at_start = written[0]
        out = tmp_path / "busy.backup"
        code, output = _cli(panel, "backup", "--out", str(out))
        assert code == 0, output
        after_backup = written[0]
        while written[0] < after_backup + 20 and not failures:
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    source = _rows(panel)
    target = _target(empty_target, panel)
    code, output = _cli(target, "restore", str(out))
    assert code == 0, output
    restored = _rows(target)

    women_ids = {row[0] for row in restored["women"]}
    captured = len([r for r in restored["cases"] if r[1].startswith("W-")])
    assert at_start <= captured <= written[0] - 20  # taken while the writer was writing
    woman_column = _woman_columns(target)
    # The hidden addresses' and the scope's tokens are the snapshot's (each writer transaction
    # adds a companion and a case, which give them new values): one row each, whatever its value.
    for token in ("address_generation", "scope_generation"):
        assert len(restored.pop(token)) == len(source.pop(token)) == 1
    for table, rows in source.items():
        kept = set(restored[table])
        assert kept <= set(rows), f"{table}: restored rows differ from the source"
        missing = [row for row in rows if row not in kept]
        if table == "audit_events":
            assert len(missing) == 1  # the backup's own event, written after it
        elif table in ("women", "companions", "cases", "name_search_grams"):
            # Only whole transactions after the snapshot are missing: rows of women not restored.
            assert missing, table
            for row in missing:
                assert row[woman_column[table]] not in women_ids, f"{table}: half a transaction"
        else:
            assert not missing, f"{table}: rows lost"
    # Each restored writer transaction is whole: her companion and her case came with her.
    writer_women = {row[0] for row in restored["women"] if row[1].startswith("書込")}
    assert len(writer_women) == captured
    with_companion = {row[woman_column["companions"]] for row in restored["companions"]}
    assert writer_women <= with_companion


def _woman_columns(app) -> dict[str, int]:
    """Where each table holding a woman's rows keeps her id."""
    with app.app_context(), db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        found = {"women": 0}
        for table in ("companions", "cases", "name_search_grams"):
            names = [c["name"] for c in inspector.get_columns(table)]
            found[table] = names.index("woman_id")
        return found


def test_restore_refuses_a_database_that_is_not_empty(panel, tmp_path):
    out = tmp_path / "panel.backup"
    assert _cli(panel, "backup", "--out", str(out))[0] == 0
    code, output = _cli(panel, "restore", str(out))
    assert code != 0 and "復元先のデータベースが空ではありません" in output


def test_restore_refuses_a_newer_revision(panel, empty_target, key_file, tmp_path):
    out = tmp_path / "panel.backup"
    with panel.app_context():
        ops.create_backup(out, key_file.read_bytes())
    key = key_file.read_bytes()
    tampered = _rewrite_manifest(out, key, tmp_path, revision=["ffffffffffff"])
    target = _target(empty_target, panel)
    code, output = _cli(target, "restore", str(tampered))
    assert code != 0 and "新しい版" in output
    with target.app_context(), db.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []


def _rewrite_manifest(out: Path, key: bytes, tmp_path: Path, **changes) -> Path:
    import io
    import json
    import tarfile

    work = tmp_path / f"rewrite-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    manifest = ops.read_backup(out, key, work).data | changes
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        encoded = json.dumps(manifest).encode()
        info = tarfile.TarInfo(ops.MANIFEST)
        info.size = len(encoded)
        archive.addfile(info, io.BytesIO(encoded))
        for name in manifest["files"]:
            archive.add(work / name, arcname=name)
    tampered = tmp_path / "tampered.backup"
    tampered.write_bytes(Fernet(key).encrypt(buffer.getvalue()))
    return tampered


def test_restore_refuses_a_tampered_file_a_wrong_key_and_no_key(panel, empty_target, key_file,
                                                                  tmp_path):
    out = tmp_path / "panel.backup"
    key = key_file.read_bytes()
    with panel.app_context():
        manifest = ops.create_backup(out, key)
    target = _target(empty_target, panel)
    # A file changed inside a validly encrypted archive: the checksum catches it.
    member = next(iter(manifest.data["files"]))
    tampered = _rewrite_manifest(out, key, tmp_path, files={
        **manifest.data["files"], member: {**manifest.data["files"][member], "sha256": "0" * 64}})
    code, output = _cli(target, "restore", str(tampered))
    assert code != 0 and "チェックサム" in output
    key_file.write_bytes(Fernet.generate_key())
    code, output = _cli(target, "restore", str(out))
    assert code != 0 and "鍵が違う" in output
    os.environ.pop("BACKUP_KEY_FILE", None)
    target.config["BACKUP_KEY_FILE"] = ""
    code, output = _cli(target, "restore", str(out))
    assert code != 0 and "暗号化されています" in output
    with target.app_context(), db.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []


@pytest.mark.parametrize("damage", [
    lambda files: {"files": {name: {"size": 1} for name in files}},  # found by fuzzing
    lambda files: {"files": list(files)},
    lambda files: {"revision": "abc"},
    lambda files: {"tables": {"cases": "3"}},
    lambda files: {"engine": None},
], ids=["checksum_missing", "files_a_list", "revision_a_string", "count_a_string",
        "engine_missing"])
def test_restore_refuses_a_damaged_manifest_in_words(panel, empty_target, key_file, tmp_path,
                                                      damage):
    out = tmp_path / "panel.backup"
    with panel.app_context():
        manifest = ops.create_backup(out, key_file.read_bytes())
    damaged = _rewrite_manifest(out, key_file.read_bytes(), tmp_path,
                                **damage(manifest.data["files"]))
    target = _target(empty_target, panel)
    code, output = _cli(target, "restore", str(damaged))
    assert code != 0 and "マニフェスト" in output and "Traceback" not in output, output
    with target.app_context(), db.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []


@pytest.mark.parametrize("hostile", ["parent", "absolute", "symlink"])
def test_restore_unpacks_plain_files_only(panel, empty_target, key_file, tmp_path, hostile):
    """An archive member that is not a plain relative file (a name climbing out with "..", an
    absolute name, a link) is refused before anything is written; a good one comes out 0600."""
    import io
    import json
    import tarfile
    import tempfile

    key = key_file.read_bytes()
    out = tmp_path / "panel.backup"
    with panel.app_context():
        ops.create_backup(out, key)
    target = _target(empty_target, panel)
    escape = f"escaped-{uuid.uuid4().hex[:8]}.txt"
    outside = Path(tempfile.gettempdir()) / escape
    info = tarfile.TarInfo({"parent": f"../{escape}", "absolute": str(outside),
                            "symlink": f"attachments/{escape}"}[hostile])
    payload = b"not from this panel"
    if hostile == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, str(outside)
    else:
        info.size = len(payload)
    manifest = {"format": ops.FORMAT, "engine": "x", "revision": [], "tables": {},
                "created_at": "2026-12-06T00:00:00+00:00", "schema": None,
                "files": {info.name: {"sha256": "0" * 64, "size": info.size}}}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        encoded = json.dumps(manifest).encode()
        head = tarfile.TarInfo(ops.MANIFEST)
        head.size = len(encoded)
        archive.addfile(head, io.BytesIO(encoded))
        archive.addfile(info, None if hostile == "symlink" else io.BytesIO(payload))
    hostile_file = tmp_path / "hostile.backup"
    hostile_file.write_bytes(Fernet(key).encrypt(buffer.getvalue()))
    code, output = _cli(target, "restore", str(hostile_file))
    assert code != 0 and "通常のファイル以外" in output, output
    assert not outside.exists() and not outside.is_symlink()
    with target.app_context(), db.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []

    work = tmp_path / "unpacked"
    work.mkdir()
    manifest = ops.read_backup(out, key, work)
    for name in manifest.data["files"]:
        assert stat.S_IMODE((work / name).stat().st_mode) == 0o600, name


def test_backup_never_overwrites_and_says_when_unencrypted(panel, tmp_path):
    panel.config["BACKUP_KEY_FILE"] = ""
    out = tmp_path / "plain.backup"
    code, output = _cli(panel, "backup", "--out", str(out))
    assert code == 0 and "暗号化していません" in output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    code, output = _cli(panel, "backup", "--out", str(out))
    assert code != 0 and "既に存在します" in output
