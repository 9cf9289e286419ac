"""Optimistic checks for screens that change several records of a case at once.

A form carries, per case, a token of the state it was drawn from: the case row's last change,
its newest 管理記録 and role row, and how many role rows are closed. On save the token is
computed again; a difference means someone else changed the case meanwhile, and the save is
refused with everything typed kept, instead of silently deciding on an outdated picture.
"""

import hashlib

from sqlalchemy import func, select

from kyogikai.models import Case, CaseReview, RoleAssignment, db


def case_tokens(case_ids) -> dict[int, str]:
    """Case id → its token, for many cases in one query."""
    ids = list(case_ids)
    if not ids:
        return {}
    reviews = (select(func.max(CaseReview.id)).where(CaseReview.case_id == Case.id)
               .scalar_subquery())
    roles = (select(func.max(RoleAssignment.id)).where(RoleAssignment.case_id == Case.id)
             .scalar_subquery())
    closed = (select(func.count(RoleAssignment.valid_to)).where(RoleAssignment.case_id == Case.id)
              .scalar_subquery())
    rows = db.session.execute(select(Case.id, Case.updated_at, Case.status, reviews, roles, closed)
                              .where(Case.id.in_(ids)))
    return {row[0]: hashlib.sha256("|".join(map(str, row)).encode()).hexdigest()[:16]
            for row in rows}


def case_token(case_id: int) -> str:
    return case_tokens([case_id]).get(case_id, "")
