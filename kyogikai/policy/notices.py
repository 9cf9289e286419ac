"""Notices (要綱 4(2)ウ ii 1): who is told what, written by the domain, shown within scope.

Written in the same flush as the change they describe, by ORM events, so every path that
invites an agency, assigns or ends a role or withdraws a consent — the generated screens, the
workflow screens, the importer, a shell — tells the same people, and a change that rolls back
tells no one:

- 関係機関担当者 of an agency: invited to a meeting (or the invitation cancelled, or the meeting's
  date, place or kind changed) — for meetings today or later only; assigned or relieved of a
  role on a case — for roles that are current or start later;
- 調整担当者: a consent of a woman with an open case is withdrawn (wholly, for one agency, or an
  agency taken off it), or
  expires (``sweep_expired``, run when the home page or the inbox opens and by
  ``flask notices sweep``). The 調整機関's coordinators run every meeting together, so each of
  them relies on every consent that lets a case be shared.

The person who made a change is not told of it. A notice stores references and a snapshot of a
meeting's kind, date and place — never a name or a person's words. What a reader sees of the
cases (their numbers) is decided when the notice is shown (``case_numbers``), by the reader's
own scope and, for a meeting, the consent valid on its date: no more than the reader may
already see.

Nothing leaves the server. ``NOTICE_MAIL_HOOK`` (off by default) names a function
``hook(recipient, subject, path)`` — recipient ``{"id", "login"}``, the subject only the kind and a
date, the path of the notice in the panel — called after the commit for each new notice, for an
intranet that has a mail relay.
"""

from datetime import date, timedelta

from flask import current_app, has_app_context, has_request_context
from flask_login import current_user
from sqlalchemy import event, exists, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from kyogikai.japanese.wareki import format_wareki
from kyogikai.models import (
    Case,
    Consent,
    ConsentAgency,
    Meeting,
    Notice,
    NoticeKind,
    Role,
    RoleAssignment,
    User,
    db,
)
from kyogikai.models.base import utcnow
from kyogikai.models.cases import ENDED_STATUSES
from kyogikai.models.consent import superseded_clause
from kyogikai.policy import request_values, scoping

K = NoticeKind

# Who is told of what: agency notices go to the agency's own staff; consent notices to the
# coordinators. Data, as the matrix is: nothing else decides who is told.
AUDIENCE: dict[NoticeKind, Role] = {
    K.meeting_invited: Role.agency_staff,
    K.meeting_changed: Role.agency_staff,
    K.meeting_cancelled: Role.agency_staff,
    K.role_assigned: Role.agency_staff,
    K.role_relieved: Role.agency_staff,
    K.consent_withdrawn: Role.coordinator,
    K.consent_expired: Role.coordinator,
}
# A meeting whose date, place or kind changes is a new 招集 for those invited.
MEETING_FIELDS = ("held_on", "place", "kind")
# An expiry is told for this many days afterwards; older ones are on the home page's figure.
EXPIRY_LOOKBACK_DAYS = 30


# ---------------------------------------------------------------- recipients


def _actor_id() -> int | None:
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user.id
    return None


def recipients(kind: NoticeKind, agency_id: int | None = None) -> list[int]:
    """Active users told of ``kind`` (for agency notices: that agency's), but not the actor."""
    role = AUDIENCE[kind]
    query = select(User.id).where(User.role == role, User.active.is_(True))
    if role is Role.agency_staff:
        if agency_id is None:
            return []
        query = query.where(User.agency_id == agency_id)
    actor = _actor_id()
    with db.session.no_autoflush:
        return [uid for uid in db.session.scalars(query.order_by(User.id)) if uid != actor]


def _tell(session, kind: NoticeKind, agency_id=None, **fields) -> None:
    for user_id in recipients(kind, agency_id):
        session.add(Notice(user_id=user_id, kind=kind, agency_id=agency_id, **fields))


# ---------------------------------------------------------------- the domain's changes


def _history(obj, name):
    return inspect(obj).attrs[name].history


def _ids(objects) -> set[int]:
    return {o.id for o in objects if o is not None and o.id is not None}


def _meeting_fields(meeting: Meeting) -> dict:
    return {"meeting_kind": meeting.kind, "on_date": meeting.held_on,
            "place": meeting.place or ""}


def _meeting(session, meeting: Meeting, state: str) -> None:
    today = date.today()
    if state == "deleted":
        if meeting.held_on is not None and meeting.held_on >= today:
            for agency_id in _ids(meeting.agencies):
                _tell(session, K.meeting_cancelled, agency_id, **_meeting_fields(meeting))
        return
    if meeting.held_on is None or meeting.held_on < today:
        return  # a past meeting is a record being completed, not a 招集
    reference = {"meeting": meeting, **_meeting_fields(meeting)}
    if state == "new":
        for agency in meeting.agencies:
            _tell(session, K.meeting_invited, agency.id, **reference)
        return
    history = _history(meeting, "agencies")
    added, removed = _ids(history.added), _ids(history.deleted)
    for agency_id in sorted(added):
        _tell(session, K.meeting_invited, agency_id, **reference)
    for agency_id in sorted(removed - added):
        _tell(session, K.meeting_cancelled, agency_id, **reference)
    if any(_history(meeting, name).has_changes() for name in MEETING_FIELDS):
        for agency_id in sorted(_ids(meeting.agencies) - added):
            _tell(session, K.meeting_changed, agency_id, **reference)


def _holds_now_or_later(row: RoleAssignment, today: date) -> bool:
    return not row.cancels and (row.valid_to is None or row.valid_to >= today)


def _role(session, role: RoleAssignment, state: str) -> None:
    """Role history only grows (models.roles): a new row assigns; ending a row (valid_to set
    once) relieves; a correction row voids the row it corrects — relieving that agency when the
    corrected row was held and the correction names another agency or cancels it."""
    today = date.today()
    case_id = role.case_id if role.case_id is not None else role.case.id
    fields = {"case_id": case_id, "role_function": role.function}
    agency_id = role.agency_id if role.agency_id is not None else role.agency.id
    if state == "deleted":  # refused by the role history's guards; told if ever allowed
        if role.is_current_on(today):
            _tell(session, K.role_relieved, agency_id, on_date=today, **fields)
        return
    if state == "new":
        corrected = role.corrects
        if corrected is None and role.corrects_id is not None:
            with db.session.no_autoflush:
                corrected = db.session.get(RoleAssignment, role.corrects_id)
        if corrected is not None and (role.cancels or corrected.agency_id != agency_id) \
                and _holds_now_or_later(corrected, today):
            _tell(session, K.role_relieved, corrected.agency_id, on_date=today, **fields)
        if _holds_now_or_later(role, today) and (
                corrected is None or corrected.agency_id != agency_id):
            _tell(session, K.role_assigned, agency_id, on_date=role.valid_from, **fields)
        return
    ended = _history(role, "valid_to")
    if ended.has_changes() and role.valid_to is not None:
        _tell(session, K.role_relieved, agency_id, on_date=role.valid_to, **fields)


def has_open_case(woman_id) -> bool:
    with db.session.no_autoflush:
        return bool(db.session.scalar(select(exists().where(
            Case.woman_id == woman_id, Case.status.not_in(ENDED_STATUSES)))))


def _consent(session, consent: Consent, state: str) -> None:
    if state != "dirty" or not has_open_case(consent.woman_id):
        return
    withdrawn = _history(consent, "withdrawn_on")
    before = withdrawn.deleted[0] if withdrawn.deleted else None
    if consent.withdrawn_on is not None and before is None and withdrawn.has_changes():
        _tell(session, K.consent_withdrawn, consent=consent, on_date=consent.withdrawn_on)
    for agency_id in sorted(_ids(_history(consent, "agencies").deleted)
                            - _ids(consent.agencies)):
        # Withdrawn for one agency: the consent stays for the others.
        _tell(session, K.consent_withdrawn, agency_id, consent=consent, on_date=date.today())


def _consent_agency(session, link: ConsentAgency, state: str) -> None:
    """The woman withdrew her consent for one agency (the consent stays for the others)."""
    if state != "dirty" or link.withdrawn_on is None:
        return
    withdrawn = _history(link, "withdrawn_on")
    if not withdrawn.has_changes() or (withdrawn.deleted and withdrawn.deleted[0] is not None):
        return
    with db.session.no_autoflush:
        consent = link.consent or db.session.get(Consent, link.consent_id)
    if consent is not None and has_open_case(consent.woman_id):
        _tell(session, K.consent_withdrawn, link.agency_id, consent=consent,
              on_date=link.withdrawn_on)


HANDLERS = {Meeting: _meeting, RoleAssignment: _role, Consent: _consent,
            ConsentAgency: _consent_agency}


@event.listens_for(Session, "before_flush")
def _write_notices(session, flush_context, instances) -> None:
    """Notices for what this flush changes, added to the same flush (see the module docstring).
    A flush sees each change once, so repeated autoflushes do not repeat a notice."""
    for state, objects in (("new", session.new), ("dirty", session.dirty),
                           ("deleted", session.deleted)):
        for obj in list(objects):
            handler = HANDLERS.get(type(obj))
            if handler is not None and (state != "dirty" or session.is_modified(obj)):
                handler(session, obj, state)


# ---------------------------------------------------------------- expiry (no event marks it)


def expired_to_tell(today: date | None = None):
    """Consents that expired in the last EXPIRY_LOOKBACK_DAYS days on a woman's open case,
    not withdrawn before and not replaced by a later valid one."""
    today = today or date.today()
    return select(Consent).where(
        Consent.valid_until < today,
        Consent.valid_until >= today - timedelta(days=EXPIRY_LOOKBACK_DAYS),
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > Consent.valid_until),
        exists().where(Case.woman_id == Consent.woman_id, Case.status.not_in(ENDED_STATUSES)),
        ~superseded_clause(today))


def sweep_expired(today: date | None = None) -> int:
    """Tell the coordinators of each consent that expired, once per coordinator (a unique
    index keeps two workers sweeping at once from telling twice). Commits; returns how many."""
    expired = dict(db.session.execute(
        expired_to_tell(today).with_only_columns(Consent.id, Consent.valid_until)).all())
    if not expired:
        return 0
    coordinators = db.session.scalars(select(User.id).where(
        User.role == AUDIENCE[K.consent_expired], User.active.is_(True))).all()
    done = set(db.session.execute(select(Notice.user_id, Notice.consent_id).where(
        Notice.kind == K.consent_expired, Notice.consent_id.in_(expired))).all())
    pairs = [(user_id, consent_id) for consent_id in sorted(expired)
             for user_id in coordinators if (user_id, consent_id) not in done]
    if not pairs:
        return 0
    db.session.add_all(Notice(user_id=user_id, kind=K.consent_expired, consent_id=consent_id,
                              on_date=expired[consent_id]) for user_id, consent_id in pairs)
    try:
        db.session.commit()
    except IntegrityError:  # another worker told them first
        db.session.rollback()
        return 0
    return len(pairs)


# ---------------------------------------------------------------- reading


def unread_count(user=None) -> int:
    user = user if user is not None else current_user
    if not getattr(user, "is_authenticated", False):
        return 0
    cached = request_values.unread_notices(user.id)  # loaded with the user (policy.sessions)
    if cached is not None:
        return cached
    return db.session.scalar(select(request_values.unread_column(user.id))) or 0


def mark_read(notice: Notice) -> None:
    if notice.read_at is None:
        notice.read_at = utcnow()


def case_numbers(notice: Notice, user=None) -> list[str]:
    """The case numbers a notice may show its reader: the cases the reader may see today and,
    for a meeting, whose consent on the meeting's date covers the reader's agency."""
    user = user if user is not None else current_user
    if notice.case_id is not None:
        case = scoping.get_visible("case", notice.case_id, user)
        return [case.number] if case is not None else []
    if notice.consent is not None:
        open_cases = scoping.scoped_select("case", user).where(
            Case.woman_id == notice.consent.woman_id, Case.status.not_in(ENDED_STATUSES))
        return sorted(case.number for case in db.session.scalars(open_cases))
    if notice.meeting is None or notice.kind is K.meeting_cancelled:
        return []
    meeting = notice.meeting
    cases = scoping.visible([link.case for link in meeting.case_links], "case", user=user)
    if scoping.is_scoped(user):
        covered = set(db.session.scalars(select(Case.id).where(
            Case.id.in_(_ids(cases)),
            scoping.consent_covers(Case.woman_id, user.agency_id, meeting.held_on))))
        cases = [case for case in cases if case.id in covered]
    return sorted(case.number for case in cases)


def subject(notice: Notice) -> str:
    """One line with no personal detail: the kind, and the date it concerns."""
    when = f"（{format_wareki(notice.on_date)}）" if notice.on_date else ""
    what = notice.meeting_kind.label if notice.meeting_kind is not None else ""
    return f"{notice.kind.label}{'：' + str(what) if what else ''}{when}"


# ---------------------------------------------------------------- the mail hook (off)


def _hook():
    name = current_app.config.get("NOTICE_MAIL_HOOK") if has_app_context() else None
    return import_string(name) if name else None


@event.listens_for(Session, "after_flush")
def _queue_mail(session, flush_context) -> None:
    """With a hook configured, what to hand it once the transaction commits (after the commit
    no SQL may run, so the recipients are read now)."""
    notices = [obj for obj in session.new if isinstance(obj, Notice)]
    if not notices or _hook() is None:
        return
    logins = dict(session.execute(select(User.id, User.login).where(
        User.id.in_({n.user_id for n in notices}))).all())
    session.info.setdefault("notice_mail", []).extend(
        ({"id": n.user_id, "login": logins.get(n.user_id, "")}, subject(n),
         f"/admin/notice/{n.id}") for n in notices)


@event.listens_for(Session, "after_commit")
def _send_mail(session) -> None:
    outbox = session.info.pop("notice_mail", [])
    hook = _hook() if outbox else None
    for recipient, line, path in outbox if hook is not None else ():
        hook(recipient, line, path)


@event.listens_for(Session, "after_rollback")
def _forget_mail(session) -> None:
    session.info.pop("notice_mail", None)
