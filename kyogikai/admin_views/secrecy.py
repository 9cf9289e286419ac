"""住所秘匿の確認: a second 調整担当者 confirms or rejects each pending change of the flag."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import select

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.models import Companion, User, Woman, db
from kyogikai.policy import masking, scoping
from kyogikai.policy.matrix import EDIT

KINDS = {"woman": Woman, "companion": Companion}


class AddressSecrecyView(SecureView):
    resource = "address_secrecy"

    @expose("/")
    def index(self):
        requests = []
        for kind, model in KINDS.items():
            rows = db.session.scalars(
                select(model).where(model.address_hidden_pending.is_not(None))
                .order_by(model.address_hidden_requested_at)).all()
            requesters = {u.id: u for u in db.session.scalars(select(User).where(
                User.id.in_({r.address_hidden_requested_by_id for r in rows})))}
            for row in rows:
                requests.append({"kind": kind, "record": row,
                                 "requester": requesters.get(row.address_hidden_requested_by_id)})
        self.audit_list(self.resource, len(requests))
        return self.render("admin/address_secrecy.html", requests=requests,
                           may_decide=self.allows(EDIT))

    @expose("/decide", methods=("POST",))
    def decide(self):
        if not self.allows(EDIT):
            return deny("decide", self.resource)
        model = KINDS.get(request.form.get("kind", ""))
        record_id = scoping.parse_id(request.form.get("id", ""))
        record = (db.session.get(model, record_id)
                  if model is not None and record_id is not None else None)
        if record is None:
            flash(_("対象の記録が見つかりません。"), "error")
            return redirect(url_for(".index"))
        try:
            if request.form.get("decision") == "confirm":
                masking.confirm(record)
                message = _("住所秘匿の変更を確認し、反映しました。")
            else:
                masking.reject(record)
                message = _("住所秘匿の変更申請を却下しました。")
        except masking.SecrecyError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(message, "success")
        return redirect(url_for(".index"))


