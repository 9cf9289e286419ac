"""The two baselines the ledger is measured against, in the same app and the same run (issue 13).

* **stock**: a plain Flask-Admin ``ModelView`` of the cases, as the library ships it (its own
  ``Admin`` at ``/bench-stock/``, its own base template, edit and delete buttons on every row,
  the same columns, 50 rows per page, no policy, no masking, no audit).
* **plain**: a hand-written Jinja page of the same 50 rows and columns (``/bench-plain/``): one
  query, one small compiled template, nothing else.
* **stock_staff** and **plain_staff**: the same two, showing the rows the bench's 関係機関担当者
  may see (``/bench-stock-staff/case/``, ``/bench-plain-staff/``): her scope rule
  (``scoping.visible_case_ids``) added to each query, as a developer would add it to a stock
  view or a hand-written page. Her agency is looked up once; no login, policy, masking or audit.

Neither is part of the app: they are registered on the bench's app object only. They also give
the agency staff's scoped ledger an account to sign in with (``add_agency_staff``).
"""

from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Response, current_app
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from sqlalchemy.orm import joinedload

from kyogikai.japanese.age import age_on
from kyogikai.japanese.wareki import format_wareki
from kyogikai.models import Case, Role, RoleAssignment, RoleFunction, User, db
from kyogikai.models.consent import Consent, ConsentMethod, ConsentPurpose, consent_agencies
from kyogikai.policy import scoping
from kyogikai.policy.authentication import hash_password

STOCK = "/bench-stock/case/"
PLAIN = "/bench-plain/"
STOCK_STAFF = "/bench-stock-staff/case/"
PLAIN_STAFF = "/bench-plain-staff/"
STAFF_LOGIN = "bench-agency-staff"

PLAIN_TEMPLATE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>ケース進行管理台帳</title></head><body>
<table class="table">
<thead><tr><th>番号</th><th>氏名（フリガナ）</th><th>生年月日（年齢）</th><th>相談受理年月日</th>
<th>状況</th><th>危険度／緊急度</th><th>主担当機関</th><th>最終管理記録日</th></tr></thead>
<tbody>
{% for case in rows %}<tr>
<td><a href="/admin/case_page/?id={{ case.id }}">{{ case.number }}</a></td>
<td><span class="person-name">{{ case.woman.name }}</span><small class="reading">{{ case.woman.furigana }}</small></td>
<td><span class="date" title="{{ case.woman.birth_date.isoformat() }}">{{ wareki(case.woman.birth_date) }}</span>（{{ age(case.woman.birth_date, today) }}歳）</td>
<td><span class="date" title="{{ case.received_on.isoformat() }}">{{ wareki(case.received_on) }}</span></td>
<td>{{ case.status.label }}</td>
<td>{{ case.current_risk_level.label if case.current_risk_level else "―" }}／{{ case.current_urgency.label if case.current_urgency else "―" }}</td>
<td>{{ case.current_lead_agency.name if case.current_lead_agency else "―" }}</td>
<td>{% if case.last_review_on %}<span class="date" title="{{ case.last_review_on.isoformat() }}">{{ wareki(case.last_review_on) }}</span>{% else %}なし{% endif %}</td>
</tr>
{% endfor %}</tbody></table></body></html>
"""


class StockCaseView(ModelView):
    """Flask-Admin as shipped, on the same columns as the ledger."""

    column_list = ("number", "woman", "woman.birth_date", "received_on", "status",
                   "current_risk_level", "current_urgency", "current_lead_agency",
                   "last_review_on")
    column_default_sort = ("received_on", True)
    page_size = 50


def _staff_scope():
    """The bench's agency staff's scope rule, as SQL (her agency read once per app)."""
    kept = current_app.extensions
    if "bench.staff" not in kept:
        kept["bench.staff"] = SimpleNamespace(agency_id=db.session.scalar(
            sa.select(User.agency_id).where(User.login == STAFF_LOGIN)))
    return Case.id.in_(scoping.visible_case_ids(kept["bench.staff"]))


class StockStaffCaseView(StockCaseView):
    """The stock view of the rows the agency staff may see: her scope on its two queries."""

    def get_query(self):
        return super().get_query().filter(_staff_scope())

    def get_count_query(self):
        return super().get_count_query().filter(_staff_scope())


def install(app) -> None:
    """Register both baselines on this app object (never on the app the panel serves)."""
    stock = Admin(app, name="stock", url="/bench-stock", endpoint="bench_stock",
                  theme=Bootstrap4Theme())
    stock.add_view(StockCaseView(Case, db.session, endpoint="bench_stock_case",
                                 url="/bench-stock/case"))
    stock_staff = Admin(app, name="stock_staff", url="/bench-stock-staff",
                        endpoint="bench_stock_staff", theme=Bootstrap4Theme())
    stock_staff.add_view(StockStaffCaseView(Case, db.session, endpoint="bench_stock_staff_case",
                                            url="/bench-stock-staff/case"))
    template = app.jinja_env.from_string(PLAIN_TEMPLATE)  # compiled once, as a file would be

    def page(*where):
        rows = db.session.scalars(
            sa.select(Case).options(joinedload(Case.woman), joinedload(Case.current_lead_agency))
            .where(*where).order_by(Case.received_on.desc()).limit(50)).all()
        return Response(template.render(rows=rows, today=date.today(), wareki=format_wareki,
                                        age=age_on), mimetype="text/html")

    app.add_url_rule(PLAIN, "bench_plain", page)
    app.add_url_rule(PLAIN_STAFF, "bench_plain_staff", lambda: page(_staff_scope()))


def add_agency_staff(session, password: str) -> dict:
    """A 関係機関担当者 of the agency holding the most 主たる支援機関 roles, with a consent naming
    that agency for each woman of those cases: her scoped ledger then lists them."""
    agency_id, cases = session.execute(
        sa.select(RoleAssignment.agency_id, sa.func.count())
        .where(RoleAssignment.function == RoleFunction.main_support)
        .group_by(RoleAssignment.agency_id).order_by(sa.func.count().desc()).limit(1)).one()
    women = session.scalars(
        sa.select(Case.woman_id).join(RoleAssignment, RoleAssignment.case_id == Case.id)
        .where(RoleAssignment.agency_id == agency_id,
               RoleAssignment.function == RoleFunction.main_support)).all()
    first = (session.scalar(sa.select(sa.func.max(Consent.id))) or 0) + 1
    consents = [{"id": first + i, "woman_id": woman_id,
                 "purpose": ConsentPurpose.agency_referral.value,
                 "obtained_on": date(2000, 4, 1), "method": ConsentMethod.written.value,
                 "note": "", "version": 1}
                for i, woman_id in enumerate(women)]
    for start in range(0, len(consents), 5000):
        session.execute(Consent.__table__.insert(), consents[start:start + 5000])
        session.execute(consent_agencies.insert(), [
            {"consent_id": row["id"], "agency_id": agency_id}
            for row in consents[start:start + 5000]])
    session.add(User(login=STAFF_LOGIN, display_name="ベンチ 関係機関担当", active=True,
                     role=Role.agency_staff, password_hash=hash_password(password),
                     agency_id=agency_id))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT setval(pg_get_serial_sequence('consents', 'id'), "
                                "(SELECT COALESCE(MAX(id), 1) FROM consents))"))
    return {"agency_id": agency_id, "cases": cases}
