"""台帳の取り込み: a 調整担当者 brings in the city's existing Excel 台帳, in four steps.

Upload → map the columns (detected from the headings; a preview of the first rows as they will
be written) → check every row (the report of refused rows, agencies to create) → import all
accepted rows in one transaction. The uploaded file waits in instance/imports/ (owner-only),
known only to the session that sent it, and is deleted when imported or after a day.
"""

import os
import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.extensions import csrf
from kyogikai.imports import ledger, service
from kyogikai.imports.workbook import MAX_FILE_BYTES
from kyogikai.models import AuditAction
from kyogikai.policy import audit
from kyogikai.policy.matrix import CREATE

SESSION_KEY = "ledger_import"
KEEP_SECONDS = 24 * 3600


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _forget_old_files() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in _folder().glob("*.xlsx"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


class LedgerImportView(SecureView):
    resource = "ledger_import"

    def _pending(self) -> tuple[dict, bytes] | None:
        """The file this session uploaded, if it is still there."""
        pending = session.get(SESSION_KEY)
        if not pending or not str(pending.get("token", "")).isalnum():
            return None
        path = _folder() / f"{pending['token']}.xlsx"
        return (pending, path.read_bytes()) if path.is_file() else None

    def _options(self) -> dict:
        form = request.form if request.method == "POST" else request.args
        mapping = {}
        for f in ledger.FIELDS:
            value = form.get(f"map_{f.key}")
            if value is not None:
                mapping[f.key] = int(value) if value.isdigit() else None
        return {
            "sheet_name": form.get("sheet") or None,
            "layout": form.get("layout") if form.get("layout") in ledger.LAYOUTS else None,
            "mapping": mapping or None,
            "create_agencies": form.get("create_agencies") == "y",
            "link_existing": form.get("link_existing") == "y",
        }

    @expose("/")
    def index(self):
        pending = self._pending()
        return self.render("admin/ledger_import.html", step="upload",
                           pending=pending[0] if pending else None,
                           may_import=self.allows(CREATE), layouts=ledger.LAYOUTS,
                           max_mb=MAX_FILE_BYTES // (1024 * 1024))

    @expose("/upload", methods=("POST",))
    @csrf.exempt  # checked below, once the body may be as large as a ledger
    def upload(self):
        if not self.allows(CREATE):
            return deny("upload", self.resource)
        # A ledger is larger than any form: this route alone accepts up to the file limit,
        # so the CSRF check (which reads the body) comes after raising it.
        request.max_content_length = MAX_FILE_BYTES + 1024 * 1024
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Excel ファイル（.xlsx）を選んでください。"), "error")
            return redirect(url_for(".index"))
        try:
            data = upload.read(MAX_FILE_BYTES + 1)
        finally:
            upload.close()
        try:
            service.prepare(data)
        except service.ImportRefused as error:
            flash(str(error), "error")
            return redirect(url_for(".index"))
        _forget_old_files()
        self._discard()
        token = secrets.token_hex(16)
        fd = os.open(_folder() / f"{token}.xlsx", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        session[SESSION_KEY] = {"token": token, "filename": Path(upload.filename).name[:100]}
        audit.record(AuditAction.create, object_type=self.resource,
                     detail=f"upload;bytes={len(data)};sha256={ledger.digest(data)[:16]}")
        return redirect(url_for(".mapping"))

    @expose("/mapping", methods=("GET", "POST"))
    def mapping(self):
        if not self.allows(CREATE):
            return deny("mapping", self.resource)
        pending = self._pending()
        if pending is None:
            flash(_("取り込むファイルがありません。もう一度アップロードしてください。"), "error")
            return redirect(url_for(".index"))
        info, data = pending
        options = self._options()
        try:
            prepared = service.prepare(data, sheet_name=options["sheet_name"],
                                       layout=options["layout"], mapping=options["mapping"])
            plan = service.plan(prepared, create_agencies=options["create_agencies"],
                                link_existing=options["link_existing"])
            checked = request.method == "POST"
            result = service.run(plan, current_user, data, commit=False) if checked else None
        except service.ImportRefused as error:
            flash(str(error), "error")
            if options["mapping"] or options["sheet_name"] or options["layout"]:
                return redirect(url_for(".mapping"))
            return redirect(url_for(".index"))
        audit.record(AuditAction.view_list, object_type=self.resource,
                     detail=f"preview;rows={plan.total_rows};checked={'yes' if checked else 'no'}")
        return self.render(
            "admin/ledger_import.html", step="check" if checked else "mapping", info=info,
            prepared=prepared, plan=plan, result=result, options=options,
            fields=ledger.FIELDS, layouts=ledger.LAYOUTS,
            columns=ledger.column_choices(prepared.sheet, prepared.layout),
            mapping_rows=service.mapping_rows(prepared),
            preview=service.preview_rows(prepared, plan))

    @expose("/commit", methods=("POST",))
    def commit(self):
        if not self.allows(CREATE):
            return deny("commit", self.resource)
        pending = self._pending()
        if pending is None:
            flash(_("取り込むファイルがありません。もう一度アップロードしてください。"), "error")
            return redirect(url_for(".index"))
        info, data = pending
        options = self._options()
        try:
            prepared = service.prepare(data, sheet_name=options["sheet_name"],
                                       layout=options["layout"], mapping=options["mapping"])
            plan = service.plan(prepared, create_agencies=options["create_agencies"],
                                link_existing=options["link_existing"])
            if not plan.cases:
                flash(_("取り込める行がありません。何も書き込みませんでした。"), "error")
                return redirect(url_for(".mapping"))
            result = service.run(plan, current_user, data, commit=True)
        except service.ImportRefused as error:
            flash(str(error), "error")
            return redirect(url_for(".mapping"))
        self._discard()
        flash(service.describe_result(result, committed=True).splitlines()[0], "success")
        return self.render("admin/ledger_import.html", step="done", info=info, result=result,
                           plan=plan)

    @expose("/discard", methods=("POST",))
    def discard(self):
        if not self.allows(CREATE):
            return deny("discard", self.resource)
        self._discard()
        flash(_("アップロードしたファイルを削除しました。"), "success")
        return redirect(url_for(".index"))

    def _discard(self) -> None:
        pending = session.pop(SESSION_KEY, None)
        if pending and str(pending.get("token", "")).isalnum():
            (_folder() / f"{pending['token']}.xlsx").unlink(missing_ok=True)
