"""The rules of role history (役割分担, 要綱 4(2)ウ; 主たる支援機関, 4(2)ウ v and 4(3)③).

History only grows: a change ends the holder's row (once) and starts a new one with the deciding
meeting; a mistake is corrected by a new row that says which row it corrects and why; nothing
is deleted (models.cases enforces it in the ORM and the database). Who may do what is decided
in policy/ (the 4(3)③ designation by a 調整担当者 only); these functions only keep the history
consistent, and raise RoleError with a Japanese message for a change that makes no sense.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, true
from sqlalchemy.orm import selectinload

from kyogikai.japanese.wareki import format_wareki
from kyogikai.models.base import db
from kyogikai.models.cases import Case, RoleAssignment, RoleFunction, held_on_clause


class RoleError(ValueError):
    """A role change refused for a domain reason; the message is Japanese, for the screen."""


def rows_of(case_id: int) -> list[RoleAssignment]:
    """Every row of a case's role history, oldest first (including voided rows)."""
    return list(db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.case_id == case_id)
        .options(selectinload(RoleAssignment.agency), selectinload(RoleAssignment.meeting),
                 selectinload(RoleAssignment.ended_meeting))
        .order_by(RoleAssignment.valid_from, RoleAssignment.id)))


def corrected_ids(rows) -> dict[int, RoleAssignment]:
    """Row id → the row that corrects it (a corrected row is void)."""
    return {row.corrects_id: row for row in rows if row.corrects_id is not None}


def live(rows) -> list[RoleAssignment]:
    """Rows that count: neither a cancellation nor corrected by a later row."""
    corrected = corrected_ids(rows)
    return [row for row in rows if not row.cancels and row.id not in corrected]


def holders_on(rows, day: date) -> dict[RoleFunction, list[RoleAssignment]]:
    """The rows held on ``day`` per function; for a single-holder function the latest started
    comes first (a same-day change leaves both on that day)."""
    found = defaultdict(list)
    for row in live(rows):
        if row.is_current_on(day):
            found[row.function].append(row)
    for function, held in found.items():
        held.sort(key=lambda r: (r.valid_from, r.id), reverse=function.single_holder)
        if not function.single_holder:
            held.sort(key=lambda r: r.agency.name if r.agency else "")
    return dict(found)


@dataclass
class TimelineEntry:
    """One row of the history as the case page and the role editor show it."""

    row: RoleAssignment
    state: str  # "current", "ended", "future", "void", "cancellation"
    corrected_by: RoleAssignment | None = None


@dataclass
class Timeline:
    by_function: dict[RoleFunction, list[TimelineEntry]] = field(default_factory=dict)
    current: dict[RoleFunction, list[RoleAssignment]] = field(default_factory=dict)


def timeline(rows, day: date | None = None) -> Timeline:
    """A case's role history (``rows``, e.g. from rows_of or a scoped query) per function, newest
    first, with each row's state on ``day``."""
    day = day or date.today()
    rows = list(rows)
    corrected = corrected_ids(rows)
    result = Timeline(by_function={function: [] for function in RoleFunction},
                      current=holders_on(rows, day))
    for row in sorted(rows, key=lambda r: (r.valid_from, r.id), reverse=True):
        if row.cancels:
            state = "cancellation"
        elif row.id in corrected:
            state = "void"
        elif row.valid_from > day:
            state = "future"
        elif row.is_current_on(day):
            state = "current"
        else:
            state = "ended"
        result.by_function[row.function].append(
            TimelineEntry(row=row, state=state, corrected_by=corrected.get(row.id)))
    return result


def end_row(row: RoleAssignment, day: date, meeting_id: int | None) -> None:
    """Close a held row: it was held until the day before the change (or that day, when it
    began the same day: both are then listed on it)."""
    if row.valid_from > day:
        raise RoleError(_("%(agency)s の%(function)sは%(start)sに始まるため、それより前の日付では"
                          "変更できません。訂正として記録してください。", agency=row.agency,
                          function=row.function.label, start=row.valid_from.isoformat()))
    row.valid_to = max(row.valid_from, day - timedelta(days=1))
    row.ended_meeting_id = meeting_id


@dataclass
class Change:
    started: list[RoleAssignment] = field(default_factory=list)
    ended: list[RoleAssignment] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.started or self.ended)

    def extend(self, other: "Change") -> None:
        self.started += other.started
        self.ended += other.ended


def set_holders(case: Case, function: RoleFunction, agency_ids, *, day: date,
                meeting=None, user_id: int | None = None, note: str = "",
                rows=None) -> Change:
    """The meeting decided that ``agency_ids`` hold ``function`` from ``day``.

    Holders that stay keep their row; each one that goes has its row ended; each new one gets a
    row with the deciding meeting. An empty list ends every holder. A single-holder function
    takes at most one agency.
    """
    wanted = list(dict.fromkeys(int(a) for a in agency_ids if a is not None))
    if function.single_holder and len(wanted) > 1:
        raise RoleError(_("%(function)sは1つの機関だけが担います。", function=function.label))
    rows = rows_of(case.id) if rows is None and case.id is not None else (rows or [])
    held = holders_on(rows, day).get(function, [])
    meeting_id = getattr(meeting, "id", None)
    change = Change()
    for row in held:
        if row.agency_id not in wanted:
            end_row(row, day, meeting_id)
            change.ended.append(row)
    held_ids = {row.agency_id for row in held}
    for agency_id in wanted:
        if agency_id in held_ids:
            continue
        row = RoleAssignment(case=case, agency_id=agency_id, function=function,
                             meeting=meeting, valid_from=day, recorded_by_id=user_id, note=note)
        db.session.add(row)
        change.started.append(row)
    return change


def designate_main_support(case: Case, agency_id: int, *, day: date, meeting, reason: str,
                           user_id: int | None = None) -> Change:
    """要綱 4(3)③: the agencies could not agree, so the 調整機関 designates the 主たる支援機関.

    Ends the current 主たる支援機関 (even the same agency: the designation is a decision of its
    own, recorded as such) and starts a designated row with the date, the meeting and the reason.
    Only a 調整担当者 may call this (policy.roles.designate checks it).
    """
    if not (reason or "").strip():
        raise RoleError(_("要綱4(3)③の指定には、その理由を入力してください。"))
    if meeting is None:
        raise RoleError(_("要綱4(3)③の指定には、協議が調わなかった会議を選んでください。"))
    rows = rows_of(case.id)
    change = Change()
    for row in holders_on(rows, day).get(RoleFunction.main_support, []):
        end_row(row, day, meeting.id)
        change.ended.append(row)
    row = RoleAssignment(case=case, agency_id=int(agency_id), function=RoleFunction.main_support,
                         meeting=meeting, valid_from=day, designated=True,
                         designation_reason=reason.strip(), recorded_by_id=user_id)
    db.session.add(row)
    change.started.append(row)
    return change


def correct(row: RoleAssignment, *, reason: str, user_id: int | None = None,
            agency_id: int | None = None, valid_from: date | None = None,
            valid_to: date | None = None, cancel: bool = False) -> RoleAssignment:
    """Correct a mistaken row by a new row that says so; the mistaken row becomes void.

    ``cancel``: the row should never have existed (the new row holds nothing). Otherwise the new
    row states what was right: the agency, the dates (by default those of the mistaken row),
    with the same function, meeting and designation.
    """
    if not (reason or "").strip():
        raise RoleError(_("訂正には、その理由を入力してください。"))
    rows = rows_of(row.case_id)
    if row.cancels or row.id in corrected_ids(rows):
        raise RoleError(_("この行は既に訂正または取消されています。"))
    fixed = RoleAssignment(
        case_id=row.case_id, agency_id=int(agency_id or row.agency_id), function=row.function,
        meeting_id=row.meeting_id, valid_from=valid_from or row.valid_from,
        valid_to=row.valid_to if valid_to is None and not cancel else valid_to,
        ended_meeting_id=row.ended_meeting_id if valid_to is None else None,
        designated=row.designated, designation_reason=row.designation_reason, corrects=row,
        cancels=cancel, correction_reason=reason.strip(), recorded_by_id=user_id)
    if fixed.valid_to is not None and fixed.valid_to < fixed.valid_from:
        raise RoleError(_("終了日が開始日より前になっています。"))
    db.session.add(fixed)
    return fixed


def designations(case_ids, day: date | None = None, clause=None) -> dict[int, RoleAssignment]:
    """Case id → its 主たる支援機関 held on ``day`` (default today) when 4(3)③ designated it.

    One query for many cases (様式1 reads it for each case of its 備考); ``clause`` is the
    reader's scope of role history (policy.scoping), which this module does not decide.
    """
    ids = list(case_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(RoleAssignment).where(
            RoleAssignment.case_id.in_(ids), RoleAssignment.function == RoleFunction.main_support,
            held_on_clause(day or date.today()), true() if clause is None else clause)
        .options(selectinload(RoleAssignment.agency), selectinload(RoleAssignment.meeting))
        .order_by(RoleAssignment.valid_from, RoleAssignment.id))
    latest = {}
    for row in rows:
        latest[row.case_id] = row  # the latest started holder wins
    return {case_id: row for case_id, row in latest.items() if row.designated}


def designation_remark(row: RoleAssignment, reason: str | None = None) -> str:
    """How 様式1's 備考 and the case page state a 4(3)③ designation. The reason is free text:
    pass it masked for the reader (policy.masking.mask_free_text) when it is shown to others."""
    meeting = row.meeting
    held = (f"{meeting.kind.label}（{format_wareki(meeting.held_on)}）"
            if meeting is not None else "")
    return _("要綱4(3)③により調整機関が主たる支援機関に指定: %(agency)s（%(day)s、%(meeting)s。"
             "理由: %(reason)s）", agency=row.agency, day=format_wareki(row.valid_from),
             meeting=held, reason=row.designation_reason if reason is None else reason)
