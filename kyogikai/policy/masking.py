"""住所秘匿 (DOMAIN rule 3): masking hidden addresses, and the two-coordinator flag change.

An address is masked for every role the matrix does not allow to see it, on every output that
asks ``display_value``; the ``MASK`` text itself can never be saved over a real address. The flag
moves only when a second 調整担当者 confirms a pending request; both steps are audited.
"""

from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from kyogikai.models import AuditAction, AuditOutcome, SecrecyChange, db
from kyogikai.models.base import utcnow
from kyogikai.models.women import ADDRESS_FIELDS, AddressMixin
from kyogikai.policy import audit
from kyogikai.policy.matrix import DETAILS, allowed

MASK = "＊＊＊（住所秘匿）"
MASKED_NAMES = frozenset(ADDRESS_FIELDS) | {"address_line"}


class SecrecyError(Exception):
    """A refused step of the two-person flow; the message is Japanese, for the screen."""


def may_see_hidden(user=None) -> bool:
    user = user if user is not None else current_user
    return bool(getattr(user, "is_authenticated", False)) and allowed(
        user.role, DETAILS, "hidden_address")


def is_masked(obj, user=None) -> bool:
    return isinstance(obj, AddressMixin) and obj.address_secret and not may_see_hidden(user)


def display_value(obj, name: str, value, user=None):
    """What a person may see of one field of one record."""
    if name in MASKED_NAMES and is_masked(obj, user) and value:
        return MASK
    return value


def _object_type(obj) -> str:
    return "companion" if type(obj).__name__ == "Companion" else "woman"


def route_flag_edit(obj, user=None) -> None:
    """A form that ticks or unticks 住所秘匿 files a request instead of moving the flag."""
    user = user if user is not None else current_user
    state = inspect(obj)
    history = state.attrs.address_hidden.history
    if state.pending or state.transient:
        wanted, before = bool(obj.address_hidden), False
    elif history.has_changes():
        wanted, before = bool(history.added[0]), bool(history.deleted[0]) if history.deleted else False
    else:
        return
    if wanted == before:
        return
    obj.address_hidden = before
    obj.address_hidden_pending = SecrecyChange.set if wanted else SecrecyChange.clear
    obj.address_hidden_requested_by_id = user.id
    obj.address_hidden_requested_at = utcnow()
    if obj.id is None:
        db.session.flush()  # a new record: its id is what the audit event must name
    audit.record(AuditAction.address_secrecy, object_type=_object_type(obj),
                 object_id=obj.id, detail=f"requested={obj.address_hidden_pending.value}",
                 with_change=True)


def confirm(obj, user=None) -> None:
    """The second coordinator's confirmation: the flag moves now."""
    user = user if user is not None else current_user
    _check_second_person(obj, user)
    change = obj.address_hidden_pending
    obj.address_hidden = change is SecrecyChange.set
    _clear_request(obj)
    audit.record(AuditAction.address_secrecy, object_type=_object_type(obj), object_id=obj.id,
                 detail=f"confirmed={change.value}", with_change=True)


def reject(obj, user=None) -> None:
    user = user if user is not None else current_user
    _check_second_person(obj, user)
    change = obj.address_hidden_pending
    _clear_request(obj)
    audit.record(AuditAction.address_secrecy, outcome=AuditOutcome.denied,
                 object_type=_object_type(obj), object_id=obj.id,
                 detail=f"rejected={change.value}", with_change=True)


def _check_second_person(obj, user) -> None:
    if obj.address_hidden_pending is None:
        raise SecrecyError(_("確認待ちの住所秘匿の変更はありません。"))
    if not allowed(user.role, "edit", "address_secrecy"):
        raise SecrecyError(_("住所秘匿の変更を確認できるのは調整担当者だけです。"))
    if obj.address_hidden_requested_by_id == user.id:
        raise SecrecyError(_("申請した本人は確認できません。別の調整担当者が確認してください。"))


def _clear_request(obj) -> None:
    obj.address_hidden_pending = None
    obj.address_hidden_requested_by_id = None
    obj.address_hidden_requested_at = None


@event.listens_for(Session, "before_flush")
def _never_save_the_mask(session, flush_context, instances) -> None:
    """A masked form sent back unchanged must not overwrite the real address with the mask."""
    for obj in session.dirty:
        if not isinstance(obj, AddressMixin):
            continue
        state = inspect(obj)
        for name in ADDRESS_FIELDS:
            if getattr(obj, name) == MASK:
                history = state.attrs[name].history
                setattr(obj, name, history.deleted[0] if history.deleted else "")
    for obj in session.new:
        if isinstance(obj, AddressMixin):
            for name in ADDRESS_FIELDS:
                if getattr(obj, name) == MASK:
                    setattr(obj, name, "")


def _secret_fragments(owners, user=None) -> list[str]:
    """The pieces of hidden addresses a person might have typed into free text."""
    fragments = set()
    for owner in owners:
        if not is_masked(owner, user):
            continue
        for piece in (owner.address_line, owner.street, owner.katagaki,
                      f"{owner.municipality}{owner.street}"):
            if piece and len(piece) >= 3:
                fragments.add(piece)
    return sorted(fragments, key=len, reverse=True)


def mask_text(text, owners, user=None):
    """Free text (minutes, 状況等, notes) with any hidden address of ``owners`` masked."""
    if not text or not isinstance(text, str):
        return text
    for fragment in _secret_fragments(owners, user):
        text = text.replace(fragment, MASK)
    return text


def people_of_case(case) -> list:
    return [case.woman, *case.woman.companions] if case is not None and case.woman else []


def people_of_woman(woman) -> list:
    return [woman, *woman.companions] if woman is not None else []


def people_of_meeting(meeting) -> list:
    return [person for link in meeting.case_links for person in people_of_case(link.case)]


_NOBODY = AnonymousUserMixin()


class HiddenAddressInText(ValueError):
    """Free text that spells a hidden address; the message is Japanese, for the screen."""


PLACEHOLDER = "（秘匿住所）"  # what people are asked to write instead of a hidden address


def refusal_message(label=None) -> str:
    if label:
        return _("「%(label)s」に秘匿された住所が含まれています。住所の部分は「%(placeholder)s」と"
                 "書き換えてから保存してください。", label=label, placeholder=PLACEHOLDER)
    return _("秘匿された住所が含まれています。住所の部分は「%(placeholder)s」と書き換えてから"
             "保存してください。", placeholder=PLACEHOLDER)


def _all_hidden_fragments() -> list[str]:
    """Pieces of every hidden address in the database; kept until the next flush."""
    from flask import g
    from sqlalchemy import or_, select

    from kyogikai.models import Companion, Woman

    if "hidden_fragments" not in g:
        people = []
        for model in (Woman, Companion):
            people += db.session.scalars(select(model).where(or_(
                model.address_hidden.is_(True), model.address_hidden_pending.is_not(None)))).all()
        g.hidden_fragments = _secret_fragments(people, user=_NOBODY)
    return g.hidden_fragments


@event.listens_for(Session, "after_flush")
def _forget_fragments(session, flush_context) -> None:
    from flask import g, has_app_context

    if has_app_context():
        g.pop("hidden_fragments", None)


def check_free_text(text, user=None, label=None) -> None:
    """Refuse free text that spells a hidden address ``user`` may not see (every hidden address
    in the database, flushed changes included). For every writer of free text; the Excel
    importer asks as a reader who may see none."""
    if not text or not isinstance(text, str) or may_see_hidden(user):
        return
    if any(fragment in text for fragment in _all_hidden_fragments()):
        raise HiddenAddressInText(refusal_message(label))
