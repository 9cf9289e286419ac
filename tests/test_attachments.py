"""添付ファイル: type by content, 20 MB, stored privately, served as a download, scoped, audited."""

import io
import os
import re
import stat
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from kyogikai.models import Attachment, AuditAction, AuditEvent, AuditOutcome, db
from tests.conftest import csrf_token
from tests.test_ops_backup import key_file, panel  # noqa: F401 (fixtures: a migrated panel)
from tests.test_scoping import other  # noqa: F401 (fixture: a case outside the police's scope)

MB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


def office(kind: str) -> bytes:
    """The smallest zip Excel or Word would write: content types first, then the part."""
    part = {"xlsx": "xl/workbook.xml", "docx": "word/document.xml"}[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(part, "<root/>")
    return buffer.getvalue()


def upload(client, kind, owner_id, content: bytes, name: str, page: str | None = None):
    """Post the upload form as a browser does (encoded in memory: the test client's own
    temporary file would stay open when the server refuses the body unread)."""
    page = page or (f"/admin/case_page/?id={owner_id}" if kind == "case"
                    else f"/admin/{kind}/details/?id={owner_id}")
    boundary, body = encode_multipart({
        "csrf_token": csrf_token(client, page), "kind": kind, "id": str(owner_id),
        "next": page, "file": FileStorage(io.BytesIO(content), filename=name)})
    return client.post("/admin/attachment/upload", data=body, follow_redirects=True,
                       content_type=f"multipart/form-data; boundary={boundary}")


def stored(app) -> list[Attachment]:
    with app.app_context():
        return db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()


def files(app) -> list[Path]:
    folder = Path(app.instance_path) / "attachments"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def events(app, action, object_type="attachment"):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.object_type == object_type)
            .order_by(AuditEvent.id)).all()


def test_a_scanned_consent_is_stored_privately_under_a_random_name(app, login_as, sample):
    client = login_as("clerk")
    response = upload(client, "consent", sample["consent"], PDF, "同意書（青木）.pdf")
    body = response.get_data(as_text=True)
    assert "「同意書（青木）.pdf」を添付しました。" in body
    [row] = stored(app)
    assert (row.consent_id, row.media_type, row.size) == (sample["consent"], "application/pdf",
                                                          len(PDF))
    [path] = files(app)
    assert path.name == row.stored_name and re.fullmatch(r"[0-9a-f]{32}", path.name)
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert "同意書（青木）.pdf" in body  # listed on the consent's page
    [event] = events(app, AuditAction.create)
    assert event.object_id == row.id and "青木" not in event.detail


@pytest.mark.parametrize(("content", "name", "media_type"), [
    (PNG, "scan.png", "image/png"), (JPEG, "写真.JPG", "image/jpeg"),
    (JPEG, "photo.jpeg", "image/jpeg"), (office("xlsx"), "資料.xlsx",
                                         "application/vnd.openxmlformats-officedocument."
                                         "spreadsheetml.sheet"),
    (office("docx"), "議事メモ.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document")])
def test_each_allowed_type_is_accepted(app, login_as, sample, content, name, media_type):
    upload(login_as("coordinator"), "meeting", sample["meeting"], content, name)
    assert [row.media_type for row in stored(app)] == [media_type]


@pytest.mark.parametrize(("content", "name", "message"), [
    (PNG, "同意書.pdf", "中身は PNG ですが、名前の拡張子が違います"),
    (b"<html><script>alert(1)</script></html>", "資料.pdf", "添付できない種類のファイルです"),
    (b"MZ\x90\x00" + b"\x00" * 200, "setup.docx", "添付できない種類のファイルです"),
    (office("xlsx"), "資料.docx", "中身は Excel ですが"),
    (b"", "empty.pdf", "空のファイルです")])
def test_the_content_decides_not_the_name(app, login_as, sample, content, name, message):
    body = upload(login_as("clerk"), "case", sample["case"], content, name).get_data(
        as_text=True)
    assert message in body
    assert stored(app) == [] and files(app) == []


def test_a_21_mb_file_is_refused_and_nothing_is_kept(app, login_as, sample):
    body = upload(login_as("clerk"), "case", sample["case"], PDF + b"0" * (21 * MB),
                  "大きな資料.pdf").get_data(as_text=True)
    assert "「大きな資料.pdf」は大きすぎます。1ファイル 20 MB までです。" in body
    assert stored(app) == [] and files(app) == []


def test_a_far_larger_upload_stops_at_the_request_limit_in_japanese(app, login_as, sample):
    response = upload(login_as("clerk"), "case", sample["case"], PDF + b"0" * (30 * MB),
                      "巨大.pdf")
    assert response.status_code == 413
    assert "送信された内容が大きすぎます（上限 20 MB）" in response.get_data(as_text=True)
    assert stored(app) == [] and files(app) == []


def test_the_upload_route_takes_files_above_the_forms_limit(app, login_as, sample):
    app.config["MAX_CONTENT_LENGTH"] = 2 * MB  # the limit every other form keeps
    client = login_as("clerk")
    upload(client, "case", sample["case"], PDF + b"0" * (19 * MB), "19MB.pdf")
    assert [row.size for row in stored(app)] == [len(PDF) + 19 * MB]
    token = csrf_token(client, "/admin/woman/new/")
    response = client.post("/admin/woman/new/", data={"csrf_token": token, "name": "a" * 3 * MB})
    assert response.status_code == 413


def test_a_download_is_an_attachment_not_cached_and_audited(app, login_as, sample):
    upload(login_as("clerk"), "case", sample["case"], PNG, "写真.png")
    [row] = stored(app)
    response = login_as("supervisor").get(f"/admin/attachment/download?id={row.id}")
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%86%99%E7%9C%9F.png" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    [event] = events(app, AuditAction.export)
    assert event.object_id == row.id and event.detail.startswith("download;owner=case:")


def test_an_out_of_scope_download_by_id_is_a_404_and_audited(app, login_as, sample,
                                                           other):  # noqa: F811
    coordinator = login_as("coordinator")
    upload(coordinator, "case", other["case"], PDF, "秘密の資料.pdf")
    upload(coordinator, "case", sample["case"], PDF, "共有の資料.pdf")
    secret, shared = stored(app)
    staff = login_as("agency_staff")  # the police: in scope for the sample case only
    response = staff.get(f"/admin/attachment/download?id={secret.id}")
    assert response.status_code == 404 and "秘密の資料" not in response.get_data(as_text=True)
    assert staff.get(f"/admin/attachment/download?id={shared.id}").data == PDF
    case_page = staff.get(f"/admin/case_page/?id={sample['case']}").get_data(as_text=True)
    assert "共有の資料.pdf" in case_page and "秘密の資料" not in case_page
    [denied] = [e for e in events(app, AuditAction.denied) if e.object_id == secret.id]
    assert denied.outcome is AuditOutcome.denied
    assert [e.object_id for e in events(app, AuditAction.export)] == [shared.id]
    assert login_as("admin").get(f"/admin/attachment/download?id={shared.id}").status_code == 403


def test_only_a_coordinator_deletes_and_it_is_audited(app, login_as, sample):
    upload(login_as("clerk"), "meeting", sample["meeting"], PDF, "資料.pdf")
    [row] = stored(app)
    [path] = files(app)
    page = f"/admin/meeting/details/?id={sample['meeting']}"
    for role in ("clerk", "supervisor", "agency_staff"):
        client = login_as(role)
        response = client.post("/admin/attachment/delete", data={
            "csrf_token": csrf_token(client, page), "id": str(row.id)})
        assert response.status_code == 403, role
    assert "削除" not in login_as("clerk").get(page).get_data(as_text=True).split(
        "添付ファイル")[-1]
    client = login_as("coordinator")
    response = client.post("/admin/attachment/delete", data={
        "csrf_token": csrf_token(client, page), "id": str(row.id), "next": page},
        follow_redirects=True)
    assert "「資料.pdf」を削除しました。" in response.get_data(as_text=True)
    assert stored(app) == [] and not path.exists()
    [event] = events(app, AuditAction.delete)
    assert event.object_id == row.id


def test_agency_staff_and_admin_cannot_upload(app, login_as, sample):
    for role in ("agency_staff", "supervisor"):
        client = login_as(role)
        page = f"/admin/case_page/?id={sample['case']}"
        assert 'action="/admin/attachment/upload"' not in client.get(page).get_data(as_text=True)
        response = client.post("/admin/attachment/upload", data={
            "csrf_token": csrf_token(client, page), "kind": "case", "id": str(sample["case"]),
            "file": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data")
        assert response.status_code == 403, role
    assert stored(app) == []


def test_a_hidden_address_in_a_file_name_is_refused_for_a_clerk(app, login_as, sample):
    with app.app_context():
        from kyogikai.models import Woman

        woman = db.session.get(Woman, sample["woman"])
        woman.address_hidden = True
        db.session.commit()
    body = upload(login_as("clerk"), "case", sample["case"], PDF,
                  "本町1-2-3の地図.pdf").get_data(as_text=True)
    assert "秘匿された住所が含まれています" in body
    assert stored(app) == [] and files(app) == []


def test_the_backup_carries_the_attached_files(panel, tmp_path):  # noqa: F811
    """Attachments live in instance/attachments/, the folder `flask backup` copies whole."""
    from kyogikai.models import Case, Role, User
    from kyogikai.ops.backup import create_backup
    from kyogikai.policy import attachments

    with panel.app_context():
        case = db.session.scalars(sa.select(Case).order_by(Case.id)).first()
        clerk = db.session.scalar(sa.select(User).where(User.role == Role.clerk))
        stored = attachments.attach("case", case, io.BytesIO(PDF), "同意書.pdf", clerk).stored_name
        db.session.commit()
        manifest = create_backup(tmp_path / "panel.backup", None)
    entry = manifest.data["files"][f"attachments/{stored}"]
    assert entry["size"] == len(PDF)
