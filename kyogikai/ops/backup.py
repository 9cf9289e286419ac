"""Backup and restore of the whole panel: the database, and the attachments folder when there is one.

A backup is one file: a tar holding the database (SQLite: a copy taken through SQLite's online
backup API, so the panel keeps serving; PostgreSQL: ``pg_dump -Fc`` of the panel's schema),
``attachments/`` and ``manifest.json`` (time, revision, row counts per table, SHA-256 of every
file). With a key configured (BACKUP_KEY_FILE) the tar is encrypted with Fernet (AES-128-CBC +
HMAC-SHA256): it cannot be read or altered unnoticed without the key. The file is mode 0600.

Restore goes into an empty database only, refuses a backup made by newer code (an unknown
revision), verifies every checksum and row count, then migrates to this code's head.
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump/pg_restore from an argument list, never a shell
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy.engine import make_url

from kyogikai.models import AuditAction, db
from kyogikai.ops.health import MIGRATIONS_DIR, database_revisions
from kyogikai.policy import audit

FORMAT = "kyogikai-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
ATTACHMENTS = "attachments"
FERNET_PREFIX = b"gAAAAA"  # every Fernet token starts with version byte 0x80, base64url


class BackupError(Exception):
    """A refused or failed backup or restore; the message is Japanese, for the operator."""


@dataclass
class Manifest:
    data: dict

    @property
    def revision(self) -> list[str]:
        return self.data["revision"]

    @property
    def tables(self) -> dict[str, int]:
        return self.data["tables"]


# ---------------------------------------------------------------- keys and files


def load_key() -> bytes | None:
    """The Fernet key from BACKUP_KEY_FILE (one line, as Fernet.generate_key() prints it)."""
    path = current_app.config.get("BACKUP_KEY_FILE")
    if not path:
        return None
    try:
        key = Path(path).read_bytes().strip()
        Fernet(key)
    except (OSError, ValueError) as error:
        raise BackupError(f"バックアップの暗号鍵（{path}）を読み込めません: {error}") from None
    return key


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only from the first byte; written beside the target, then renamed into place."""
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _attachments_dir() -> Path:
    return Path(current_app.instance_path) / ATTACHMENTS


# ---------------------------------------------------------------- PostgreSQL connection details


def _pg_args(url) -> tuple[list[str], dict]:
    """libpq connection for pg_dump/pg_restore; the password travels in the environment only."""
    url = make_url(url)
    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    options = url.query.get("options")
    if options:
        parts["options"] = options if isinstance(options, str) else options[0]

    def quoted(value) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    conninfo = " ".join(f"{k}={quoted(v)}" for k, v in parts.items() if v not in (None, ""))
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    return [f"--dbname={conninfo}"], env


def _run(command: list[str], env: dict) -> None:
    binary = shutil.which(command[0])
    if binary is None:
        raise BackupError(f"{command[0]} が見つかりません（postgresql-client をインストールしてください）。")
    done = subprocess.run(  # nosec B603  # binary from shutil.which, arguments built here, no shell
        [binary, *command[1:]], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} が失敗しました: {done.stderr.strip()[-2000:]}")


# ---------------------------------------------------------------- backup


def _table_counts(connection) -> dict[str, int]:
    """Rows per table of the connection's schema, as the database's own catalog lists them."""
    return {name: connection.execute(
        sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        for name in sorted(sa.inspect(connection).get_table_names())}


def _dump_sqlite(engine, target: Path) -> tuple[list[str], dict[str, int]]:
    source = sqlite3.connect(engine.url.database, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # One step (pages=-1): a consistent snapshot while writers go on (WAL).
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    snapshot = sa.create_engine(f"sqlite:///{target}")
    try:
        with snapshot.connect() as connection:
            return sorted(database_revisions(connection)), _table_counts(connection)
    finally:
        snapshot.dispose()


def _dump_postgresql(engine, target: Path) -> tuple[list[str], dict[str, int], str]:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        # Counts, revision and pg_dump all see the same exported snapshot.
        snapshot_id = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
        revision = sorted(database_revisions(connection))
        counts = _table_counts(connection)
        args, env = _pg_args(engine.url)
        _run(["pg_dump", *args, "--format=custom", f"--schema={schema}",
              f"--snapshot={snapshot_id}", f"--file={target}"], env)
        connection.rollback()
    return revision, counts, schema


def create_backup(out: Path, key: bytes | None) -> Manifest:
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} は既に存在します。別のファイル名を指定してください。")
    if not out.parent.is_dir():
        raise BackupError(f"保存先のフォルダー {out.parent} がありません。")
    engine = db.engine
    with tempfile.TemporaryDirectory(prefix="kyogikai-backup-") as work:
        work = Path(work)
        os.chmod(work, 0o700)
        schema = None
        if engine.dialect.name == "sqlite":
            member = SQLITE_MEMBER
            revision, counts = _dump_sqlite(engine, work / member)
        elif engine.dialect.name == "postgresql":
            member = PG_MEMBER
            revision, counts, schema = _dump_postgresql(engine, work / member)
        else:
            raise BackupError(f"{engine.dialect.name} のバックアップには対応していません。")
        files = {member: work / member}
        attachments = _attachments_dir()
        if attachments.is_dir():
            for path in sorted(p for p in attachments.rglob("*") if p.is_file()):
                files[f"{ATTACHMENTS}/{path.relative_to(attachments).as_posix()}"] = path
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": engine.dialect.name,
            "schema": schema,
            "revision": revision,
            "tables": counts,
            "files": {name: {"sha256": _sha256(path), "size": path.stat().st_size}
                      for name, path in files.items()},
        }
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            encoded = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(encoded), 0o600
            archive.addfile(info, io.BytesIO(encoded))
            for name, path in files.items():
                archive.add(path, arcname=name, recursive=False, filter=_owner_only)
        data = buffer.getvalue()
    _write_private(out, Fernet(key).encrypt(data) if key else data)
    audit.record(AuditAction.export, object_type="backup",
                 detail=f"tables={len(counts)};rows={sum(counts.values())};"
                        f"files={len(files)};encrypted={'yes' if key else 'no'}")
    return Manifest(manifest)


def _owner_only(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


# ---------------------------------------------------------------- restore


def read_backup(path: Path, key: bytes | None, work: Path) -> Manifest:
    """Decrypt, unpack into ``work`` and verify every file against the manifest."""
    data = Path(path).read_bytes()
    if data.startswith(FERNET_PREFIX):
        if key is None:
            raise BackupError("このバックアップは暗号化されています。BACKUP_KEY_FILE に鍵を設定してください。")
        try:
            data = Fernet(key).decrypt(data)
        except InvalidToken:
            raise BackupError("鍵が違うか、バックアップファイルが壊れています（復号できません）。") from None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            manifest = _unpack(archive, work)
    except (tarfile.TarError, OSError, EOFError, ValueError, KeyError, TypeError, zlib.error):
        raise BackupError("バックアップファイルではないか、壊れています。") from None
    listed = manifest["files"]
    for name, expected in listed.items():
        file = work / name
        if not file.is_file() or _sha256(file) != expected["sha256"] \
                or file.stat().st_size != expected["size"]:
            raise BackupError(f"バックアップの {name} のチェックサムが一致しません（改変または破損）。")
    return Manifest(manifest)


def _unpack(archive: tarfile.TarFile, work: Path) -> dict:
    members = archive.getmembers()
    names = [m.name for m in members]
    if MANIFEST not in names or len(set(names)) != len(names):
        raise BackupError("バックアップにマニフェストがないか、内容が重複しています。")
    manifest = json.loads(archive.extractfile(MANIFEST).read())
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("このバックアップの形式には対応していません。")
    if not _well_formed(manifest):
        raise BackupError("バックアップのマニフェストが壊れています（改変または破損）。")
    if set(names) - {MANIFEST} != set(manifest["files"]):
        raise BackupError("バックアップの内容がマニフェストと一致しません。")
    # Only regular files at plain relative paths, written here owner-only: no absolute or ".."
    # names, links or devices. Not tarfile's filter="data": Debian 12's Python 3.11.2 lacks it.
    for member in members:
        if member.name == MANIFEST:
            continue
        path = PurePosixPath(member.name)
        if not member.isreg() or path.is_absolute() or ".." in path.parts or not path.parts:
            raise BackupError("バックアップに通常のファイル以外の項目があります（改変のおそれ）。")
        target = work.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with archive.extractfile(member) as source, os.fdopen(fd, "wb") as fh:
            shutil.copyfileobj(source, fh)
    return manifest


def _well_formed(manifest: dict) -> bool:
    """Every field restore reads, of the type create_backup writes: a damaged or altered
    manifest is refused in words, not by a KeyError half-way."""
    files, tables, revision = (manifest.get(k) for k in ("files", "tables", "revision"))
    return (isinstance(manifest.get("engine"), str) and isinstance(manifest.get("created_at"), str)
            and isinstance(manifest.get("schema"), str | None)
            and isinstance(revision, list) and all(isinstance(r, str) for r in revision)
            and isinstance(tables, dict)
            and all(isinstance(n, int) and not isinstance(n, bool) for n in tables.values())
            and isinstance(files, dict) and all(
                isinstance(f, dict) and isinstance(f.get("sha256"), str)
                and isinstance(f.get("size"), int) for f in files.values()))


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


def restore_backup(path: Path, key: bytes | None) -> Manifest:
    engine = db.engine
    with tempfile.TemporaryDirectory(prefix="kyogikai-restore-") as work:
        work = Path(work)
        os.chmod(work, 0o700)
        manifest = read_backup(path, key, work)
        if manifest.data["engine"] != engine.dialect.name:
            raise BackupError(
                f"{manifest.data['engine']} のバックアップは {engine.dialect.name} に復元できません。")
        unknown = set(manifest.revision) - _known_revisions()
        if unknown or not manifest.revision:
            raise BackupError("このバックアップはこのプログラムより新しい版（または不明な版）で作成されています。"
                              "同じ版以降のプログラムで復元してください。")
        _require_empty(engine, manifest)
        attachments = _attachments_dir()
        if any(n.startswith(ATTACHMENTS + "/") for n in manifest.data["files"]) \
                and attachments.exists() and any(attachments.iterdir()):
            raise BackupError(f"添付ファイルのフォルダー {attachments} が空ではありません。")
        engine.dispose()
        if engine.dialect.name == "sqlite":
            _restore_sqlite(work / SQLITE_MEMBER, Path(engine.url.database))
        else:
            _pg_trgm(engine)
            args, env = _pg_args(engine.url)
            _run(["pg_restore", *args, "--no-owner", "--no-privileges", "--exit-on-error",
                  "--single-transaction", f"--schema={manifest.data['schema']}",
                  str(work / PG_MEMBER)], env)
        if (work / ATTACHMENTS).is_dir():
            attachments.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(work / ATTACHMENTS, attachments, dirs_exist_ok=True)
    with engine.connect() as connection:
        counts = _table_counts(connection)
    if counts != manifest.tables:
        raise BackupError("復元後の行数がマニフェストと一致しません。データベースを確認してください。")
    return manifest


def _pg_trgm(engine) -> None:
    """The name search's trigram index names pg_trgm's operator class in public (revision
    5e0c1a7d2b94); a dump of the panel's schema does not carry the extension."""
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    except sa.exc.DBAPIError as error:
        raise BackupError("復元先のデータベースに拡張 pg_trgm を作成できません（氏名検索の索引に"
                          f"必要です）: {error.orig}") from None


def _require_empty(engine, manifest: Manifest) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
            if schema != manifest.data["schema"]:
                raise BackupError(
                    f"復元先のスキーマ（{schema or 'なし'}）がバックアップのスキーマ"
                    f"（{manifest.data['schema']}）と異なります。")
        if sa.inspect(connection).get_table_names():
            raise BackupError("復元先のデータベースが空ではありません。空のデータベースにだけ復元できます。")


def _restore_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
