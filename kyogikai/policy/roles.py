"""Who may shape role history beyond the matrix's screens: the last line below every form.

要綱 4(3)③ lets the 調整機関 designate a 主たる支援機関 when the agencies cannot agree; only a
調整担当者 may record that (resource ``main_support_designation``). A flush in a request that
inserts a designated row for anyone else is refused, whichever code path built it.
"""

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from kyogikai.models import RoleAssignment, RoleHistoryError
from kyogikai.policy.matrix import CREATE, allowed


@event.listens_for(Session, "before_flush")
def _only_coordinators_designate(session, flush_context, instances) -> None:
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return
    if allowed(current_user.role, CREATE, "main_support_designation"):
        return
    for obj in session.new:
        if isinstance(obj, RoleAssignment) and obj.designated:
            raise RoleHistoryError("only a coordinator designates a main support agency")
