"""The consent gate (DOMAIN rule 1, 要綱 4(2)ウ「あらかじめ本人の同意を得ること」).

A case goes on a 個別ケース検討会議 only when, on the meeting date, a valid consent of the woman
covers every attending agency. Otherwise the save is refused naming the agencies not covered,
unless a 調整担当者 overrides with a written reason (recorded on the MeetingCase, audited).
"""

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from kyogikai.models import Agency, AuditAction, Consent, MeetingKind, db
from kyogikai.models.base import utcnow
from kyogikai.policy import audit
from kyogikai.policy.matrix import allowed


class ConsentGateError(Exception):
    """The Japanese message of a refused save."""


def uncovered_agencies(case, meeting) -> list[Agency]:
    """Attending agencies no consent of the woman covers on the meeting date."""
    if meeting.kind is not MeetingKind.case_conference:
        return []
    consents = db.session.scalars(select(Consent).where(Consent.woman_id == case.woman_id)).all()
    covered = {agency.id for consent in consents if consent.is_valid_on(meeting.held_on)
               for agency in consent.agencies}
    return [agency for agency in meeting.agencies if agency.id not in covered]


def check_link(link, user=None) -> None:
    """Gate one MeetingCase before it is saved: refuse, accept, or record an override."""
    user = user if user is not None else current_user
    missing = uncovered_agencies(link.case, link.meeting)
    reason = (link.consent_override_reason or "").strip()
    if not missing:
        return
    names = "、".join(agency.name for agency in missing)
    if not reason:
        raise ConsentGateError(_(
            "本人の同意が次の機関をカバーしていないため、この会議で取り上げられません: %(names)s。"
            "同意を取得するか、緊急の場合は調整担当者が理由を記入してください。", names=names))
    if not allowed(user.role, "edit", "consent_override"):
        raise ConsentGateError(_("同意確認の緊急例外は調整担当者だけが行えます（対象外の機関: %(names)s）。",
                                 names=names))
    if link.consent_override_by_id is None:
        link.consent_override_by_id = user.id
        link.consent_override_at = utcnow()
        audit.record(AuditAction.consent_override, object_type="meeting_case",
                     object_id=link.id, detail=f"case_id={link.case_id};agencies="
                     + ",".join(str(agency.id) for agency in missing), with_change=True)


def check_meeting(meeting) -> None:
    """Adding an attending agency re-checks every case already on the meeting."""
    problems = []
    for link in meeting.case_links:
        if link.consent_override_by_id is not None:
            continue
        missing = uncovered_agencies(link.case, meeting)
        if missing:
            names = "、".join(agency.name for agency in missing)
            problems.append(f"{link.case.number}（{names}）")
    if problems:
        raise ConsentGateError(_(
            "出席機関のうち本人の同意がカバーしていない機関があります: %(items)s。"
            "出席機関を見直すか、同意を取得してください。", items="、".join(problems)))
