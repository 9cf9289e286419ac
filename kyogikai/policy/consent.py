"""The consent gate (DOMAIN rule 1, 要綱 4(2)ウ「あらかじめ本人の同意を得ること」).

A case goes on a 個別ケース検討会議 only when, on the meeting date, a valid consent of the woman
covers every attending agency (a consent withdrawn for one agency no longer covers that one).
Otherwise the save is refused naming the agencies not covered, unless a 調整担当者 overrides with
a written reason; the override names the agencies it covered (MeetingCase.override_agencies),
is recorded and audited.

Right-sized: the gate runs when what it depends on changes — a case put on a meeting, the
meeting's date or kind, or an agency added to those attending. Then every case of the meeting is
checked again, overridden ones included: an override covers the agencies it named, not the ones
added later. Correcting the minutes, the place or the decisions alone runs no check, so a
meeting whose old cases have lost their consent since can still have its record corrected.
"""

from collections import defaultdict
from datetime import date

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect, or_, select

from kyogikai.models import Agency, AuditAction, Consent, MeetingKind, db
from kyogikai.models.base import utcnow
from kyogikai.models.consent import consent_agencies
from kyogikai.policy import audit
from kyogikai.policy.matrix import EDIT, allowed


class ConsentGateError(Exception):
    """The Japanese message of a refused save."""


def gated(kind) -> bool:
    return kind is MeetingKind.case_conference


def covered_agency_ids(woman_ids, day: date) -> dict[int, set[int]]:
    """Woman id → the agencies her consents cover on ``day``, for many women in one query."""
    ids = list(woman_ids)
    found: dict[int, set[int]] = defaultdict(set)
    if not ids:
        return found
    rows = db.session.execute(
        select(Consent.woman_id, consent_agencies.c.agency_id)
        .join(consent_agencies, consent_agencies.c.consent_id == Consent.id)
        .where(Consent.woman_id.in_(ids), Consent.obtained_on <= day,
               or_(Consent.valid_until.is_(None), Consent.valid_until >= day),
               or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > day),
               or_(consent_agencies.c.withdrawn_on.is_(None),
                   consent_agencies.c.withdrawn_on > day)))
    for woman_id, agency_id in rows:
        found[woman_id].add(agency_id)
    return found


def uncovered_agencies(case, meeting) -> list[Agency]:
    """Attending agencies no consent of the woman covers on the meeting date."""
    if not gated(meeting.kind) or meeting.held_on is None:
        return []
    with db.session.no_autoflush:
        covered = covered_agency_ids([case.woman_id], meeting.held_on)[case.woman_id]
        return [agency for agency in meeting.agencies if agency.id not in covered]


def missing(link) -> list[Agency]:
    """Agencies of the meeting neither the woman's consent nor an override of this link covers."""
    overridden = {agency.id for agency in link.override_agencies}
    return [agency for agency in uncovered_agencies(link.case, link.meeting)
            if agency.id not in overridden]


def preview(cases, agencies, day: date | None, kind=MeetingKind.case_conference
            ) -> dict[int, list[Agency]]:
    """Case id → attending agencies not covered, for a meeting being typed (the live answer)."""
    if not gated(kind) or day is None:
        return {case.id: [] for case in cases}
    covered = covered_agency_ids({case.woman_id for case in cases}, day)
    return {case.id: [a for a in agencies if a.id not in covered[case.woman_id]]
            for case in cases}


def names(agencies) -> str:
    return "、".join(agency.name for agency in agencies)


def override(link, agencies, reason: str, user=None) -> None:
    """A 調整担当者's emergency override for these agencies: recorded on the link, audited.

    Raises ConsentGateError without a reason or for anyone else. A later override (an agency
    added afterwards) keeps the earlier reason and adds its own.
    """
    user = user if user is not None else current_user
    reason = (reason or "").strip()
    if not reason:
        raise ConsentGateError(_(
            "本人の同意が次の機関をカバーしていないため、この会議で取り上げられません: %(names)s。"
            "同意を取得するか、緊急の場合は調整担当者が理由を記入してください。",
            names=names(agencies)))
    if not allowed(user.role, EDIT, "consent_override"):
        raise ConsentGateError(_("同意確認の緊急例外は調整担当者だけが行えます（対象外の機関: %(names)s）。",
                                 names=names(agencies)))
    earlier = {agency.id for agency in link.override_agencies}
    if link.override_agencies:
        link.consent_override_reason = _("%(before)s\n追加（%(names)s）: %(reason)s",
                                         before=link.consent_override_reason or "",
                                         names=names(agencies), reason=reason)
    else:
        link.consent_override_reason = reason
    link.override_agencies.extend(a for a in agencies if a.id not in earlier)
    link.consent_override_by_id = user.id
    link.consent_override_at = utcnow()
    if link.id is None:
        db.session.flush()  # the audit event names the link
    audit.record(AuditAction.consent_override, object_type="meeting_case", object_id=link.id,
                 detail=f"case_id={link.case_id};agencies="
                 + ",".join(str(agency.id) for agency in agencies), with_change=True)


def check_link(link, user=None, reason: str = "") -> None:
    """Gate one MeetingCase before it is saved: accept, refuse, or override with ``reason`` (the
    reason typed for this save: one stored by an earlier override covers only the agencies it
    named)."""
    absent = missing(link)
    if absent:
        override(link, absent, reason, user)


def link_needs_check(link) -> bool:
    """A case newly put on a meeting, or moved to another case or meeting; a note edited on an
    existing link changes nothing the gate depends on."""
    state = inspect(link)
    if state.transient or state.pending:
        return True
    return any(state.attrs[name].history.has_changes()
               for name in ("case_id", "meeting_id", "case", "meeting"))


def needs_check(meeting) -> bool:
    """Whether this save changes what the gate depends on: a new meeting, its date or kind, or
    an agency added to those attending (a removal only narrows who hears about the cases)."""
    state = inspect(meeting)
    if state.transient or state.pending:
        return True
    if any(state.attrs[name].history.has_changes() for name in ("held_on", "kind")):
        return True
    return bool(state.attrs.agencies.history.added)


def check_meeting(meeting, user=None, reason: str = "") -> None:
    """Re-check every case already on the meeting when the gate's inputs change.

    With ``reason`` a 調整担当者 overrides for the agencies now missing; without it the save is
    refused naming each case and its agencies.
    """
    if not needs_check(meeting):
        return
    problems = [(link, absent) for link in meeting.case_links if (absent := missing(link))]
    if not problems:
        return
    if (reason or "").strip():
        for link, absent in problems:
            override(link, absent, reason, user)
        return
    items = "、".join(f"{link.case.number}（{names(absent)}）" for link, absent in problems)
    raise ConsentGateError(_(
        "出席機関のうち本人の同意がカバーしていない機関があります: %(items)s。"
        "出席機関を見直すか、同意を取得してください（緊急の場合は調整担当者が理由を記入できます）。",
        items=items))
