"""添付ファイル: what may be stored, where, and how it is read back and removed.

- Types: PDF, PNG, JPEG, xlsx and docx, decided by the content (``filetype``), never by the
  name; a name whose extension says otherwise is refused, so nobody opens a PNG believing it
  to be the signed PDF.
- Size: ``ATTACHMENT_MAX_MB`` (20) per file, counted while the upload is written, so an
  oversized file is never kept.
- Storage: ``instance/attachments/`` (outside the web root; ``flask backup`` copies the folder),
  one file per attachment under a random name, mode 0600 in a 0700 folder; the person's file
  name stays in the database only.
- Reading: through the attachment's scope (like its case, meeting or consent), each download
  audited; deleting: 調整担当者 only (the matrix), audited with the change.
"""

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePath

import filetype
from flask import current_app
from flask_babel import gettext as _

from kyogikai.models import Attachment, AuditAction, db
from kyogikai.policy import audit, masking

FOLDER = "attachments"  # under the instance folder; the backup copies it whole
CHUNK = 1024 * 1024
log = logging.getLogger(__name__)

# Media type found in the content → the extensions a name may carry for it, and its label.
TYPES = {
    "application/pdf": (("pdf",), "PDF"),
    "image/png": (("png",), "PNG"),
    "image/jpeg": (("jpg", "jpeg"), "JPEG"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (("xlsx",), "Excel"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (("docx",),
                                                                                "Word"),
}
ACCEPT = ",".join(f".{ext}" for exts, _label in TYPES.values() for ext in exts)
# Which record an attachment may hang on: the owner kind → its column and resource.
OWNERS = {"case": "case_id", "meeting": "meeting_id", "consent": "consent_id"}


class AttachmentRefused(ValueError):
    """An upload that is not stored; the message is Japanese, for the screen."""


@dataclass(frozen=True)
class Stored:
    name: str
    size: int
    sha256: str
    media_type: str


def folder() -> Path:
    return Path(current_app.instance_path) / FOLDER


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_MB", 20)) * 1024 * 1024


def path_of(attachment: Attachment) -> Path:
    return folder() / attachment.stored_name


def label_of(media_type: str) -> str:
    return TYPES.get(media_type, ((), media_type))[1]


def _extension(filename: str) -> str:
    return PurePath(filename).suffix.lower().lstrip(".")


def clean_name(filename: str) -> str:
    """The name as the person gave it, without any folder part or control characters."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255]


def store(stream, filename: str) -> Stored:
    """Write an upload to a new random file, checking its size while writing and its type
    from its content; nothing stays on disk when it is refused."""
    name = clean_name(filename)
    if not name:
        raise AttachmentRefused(_("ファイルを選んでください。"))
    limit = max_bytes()
    target_dir = folder()
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    partial = target_dir / f".{stored_name}.part"
    digest, size, head = hashlib.sha256(), 0, b""
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise AttachmentRefused(_(
                        "「%(name)s」は大きすぎます。1ファイル %(mb)s MB までです。",
                        name=name, mb=limit // (1024 * 1024)))
                if len(head) < 8192:
                    head += chunk[:8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise AttachmentRefused(_("「%(name)s」は空のファイルです。", name=name))
        media_type = _check_type(name, head)
        os.replace(partial, target_dir / stored_name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Stored(stored_name, size, digest.hexdigest(), media_type)


def _check_type(name: str, head: bytes) -> str:
    found = filetype.guess(head)
    allowed = "、".join(label for _exts, label in TYPES.values())
    if found is None or found.mime not in TYPES:
        raise AttachmentRefused(_(
            "「%(name)s」は添付できない種類のファイルです（中身で判定しています）。"
            "添付できるのは %(allowed)s です。", name=name, allowed=allowed))
    extensions, label = TYPES[found.mime]
    if _extension(name) not in extensions:
        raise AttachmentRefused(_(
            "「%(name)s」の中身は %(label)s ですが、名前の拡張子が違います。拡張子を .%(ext)s に"
            "直してから添付してください。", name=name, label=label, ext=extensions[0]))
    return found.mime


def attach(owner_kind: str, owner, stream, filename: str, user) -> Attachment:
    """Store the upload and record it on ``owner`` (a case, meeting or consent the caller has
    fetched through the scope), with its audit event, in the session; the caller commits."""
    name = clean_name(filename)
    try:
        masking.check_free_text(name, user, label=_("ファイル名"))
    except masking.HiddenAddressInText as error:
        raise AttachmentRefused(str(error)) from error
    stored = store(stream, name)
    attachment = Attachment(filename=name, stored_name=stored.name, media_type=stored.media_type,
                            size=stored.size, sha256=stored.sha256, uploaded_by_id=user.id,
                            **{OWNERS[owner_kind]: owner.id})
    db.session.add(attachment)
    try:
        db.session.flush()
    except BaseException:
        (folder() / stored.name).unlink(missing_ok=True)
        raise
    audit.record(AuditAction.create, object_type="attachment", object_id=attachment.id,
                 detail=f"owner={owner_kind}:{owner.id};type={stored.media_type};"
                        f"bytes={stored.size}", with_change=True)
    return attachment


def record_download(attachment: Attachment) -> None:
    audit.record(AuditAction.export, object_type="attachment", object_id=attachment.id,
                 detail=f"download;owner={attachment.owner_kind}:{attachment.owner_id};"
                        f"bytes={attachment.size}")


def remove(attachment: Attachment) -> None:
    """Delete the record with its audit event; the file goes once the caller has committed
    (``discard_file``), so a rolled-back delete keeps it."""
    audit.record(AuditAction.delete, object_type="attachment", object_id=attachment.id,
                 detail=f"owner={attachment.owner_kind}:{attachment.owner_id}",
                 with_change=True)
    db.session.delete(attachment)


def discard_file(stored_name: str) -> None:
    try:
        (folder() / stored_name).unlink(missing_ok=True)
    except OSError:  # the record is gone; an orphan file is found by comparing the folder
        log.warning("could not remove attachment file %s", stored_name)
