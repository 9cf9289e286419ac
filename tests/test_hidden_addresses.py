"""住所秘匿 end to end: no spelling of a hidden address reaches a reader who may not see it.

A table of (field × spelling × role): every free-text column of every resource holds, as
imported or old text would, the hidden addresses of two women spelled in a dozen ways; every
page and every export each role can reach is then read, and none of the spellings (nor any
distinctive piece of the addresses) may appear, except for the 調整担当者, who must see them.
"""

import re

import pytest
import sqlalchemy as sa

from kyogikai.admin_views.registry import VIEWS
from kyogikai.models import (
    Agency,
    AnnualReport,
    BusinessPlan,
    Case,
    CaseReview,
    Companion,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Meeting,
    MeetingCase,
    MeetingKind,
    Relationship,
    Role,
    RoleAssignment,
    RoleFunction,
    SupportKind,
    SupportRecord,
    Woman,
    db,
)
from kyogikai.policy.masking import MASK
from kyogikai.policy.matrix import DETAILS, EDIT, EXPORT, LIST, MATRIX
from kyogikai.policy.resources import RESOURCES, text_columns

# The sample woman (青木, in the police's scope) and a second one nobody at the police may see.
AOKI = {"postal_code": "987-6543", "prefecture": "架空県", "municipality": "みどり市",
        "street": "緑町1丁目26番3号", "katagaki": "グリーンハイツ101号室"}
OTHER = {"postal_code": "123-4567", "prefecture": "架空県", "municipality": "みどり市",
         "street": "青葉台4-5-6", "katagaki": "サクラコーポラス202"}

SPELLINGS = [
    "緑町1-26-3",                 # the usual abbreviation
    "緑町１丁目２６番３号",           # full-width digits
    "緑町一丁目二十六番三号",          # kanji numerals
    "緑町 1 - 26",                # spaces, a partial address
    "緑町1丁目",                   # the town plus 丁目 alone
    "緑町1丁目\r\n26番",            # a line break inside
    "〒987-6543",                 # the postal code
    "９８７６５４３",                # the postal code, full-width, no hyphen
    "グリーンハイツ",                # the building alone
    "ｸﾞﾘｰﾝﾊｲﾂ101号室",            # half-width kana with the room
    "青葉台4－5－6",                # the other woman's address
    "サクラコーポラス",              # her building
]
# Pieces that appear in no page unless an address leaked (none of them is masked on its own,
# but none is typed anywhere except inside the spellings above).
PIECES = ["緑町", "グリーン", "ｸﾞﾘｰﾝ", "987-6543", "9876543", "９８７", "青葉台", "サクラ",
          "二十六", "123-4567", "1-26", "4－5"]


def _planted(column, spellings):
    """Text for one column: every spelling, each after a marker naming the column, so a
    failure says which (field, spelling) leaked; cut to the column's length."""
    text = "".join(f"《{column.key}{i}》{s}。" for i, s in enumerate(spellings))
    length = getattr(column.type, "length", None)
    if length:
        while len(text) > length:
            spellings = spellings[:-1]
            text = "".join(f"《{column.key}{i}》{s}。" for i, s in enumerate(spellings))
    return text


def _plant(record):
    """Fill every free-text column of the record with the spellings (rotated per column, so
    short columns get different ones)."""
    declared = RESOURCES[next(n for n, r in RESOURCES.items() if r.model is type(record))]
    for index, name in enumerate(declared.free_text):
        column = next(c for c in text_columns(type(record)) if c.key == name)
        rotated = SPELLINGS[index % len(SPELLINGS):] + SPELLINGS[:index % len(SPELLINGS)]
        setattr(record, name, _planted(column, rotated))


@pytest.fixture
def world(app, sample):
    """Both women hidden, a companion living with 青木 (no flag of her own), and every free
    text column of every record holding the spellings, as old or imported text would."""
    with app.app_context():
        aoki = db.session.get(Woman, sample["woman"])
        for key, value in AOKI.items():
            setattr(aoki, key, value)
        aoki.address_hidden = True
        child = aoki.companions[0]
        for key, value in AOKI.items():
            setattr(child, key, value)
        home, police = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()
        other = Woman(name="秘匿 次子", furigana="ヒトク ツギコ", address_hidden=True, **OTHER)
        # Her child's address is not recorded: hers must be masked from her own record alone.
        other.companions.append(Companion(name="秘匿 末子", furigana="ヒトク スエコ",
                                          relationship_to_woman=Relationship.child))
        other_case = Case(woman=other, received_on=sample_date(), lead_agency=home)
        other_meeting = Meeting(kind=MeetingKind.practitioner, held_on=sample_date(),
                                agencies=[home])
        db.session.add_all([
            other, other_case, other_meeting,
            Consent(woman=other, purpose=ConsentPurpose.case_conference,
                    obtained_on=sample_date(), method=ConsentMethod.oral, agencies=[home]),
            CaseReview(case=other_case, reviewed_on=sample_date()),
            SupportRecord(case=other_case, recorded_on=sample_date(), kind=SupportKind.phone),
            RoleAssignment(case=other_case, agency=home, function=RoleFunction.case_management,
                           valid_from=sample_date()),
            MeetingCase(meeting=other_meeting, case=other_case),
        ])
        db.session.flush()
        for model in (Woman, Companion, Case, Consent, CaseReview, SupportRecord,
                      Meeting, MeetingCase, BusinessPlan, AnnualReport):
            for record in db.session.scalars(sa.select(model)):
                _plant(record)
        # Role history only grows: its text goes in with new rows — a correction of each row
        # (note, reason) and a 4(3)③ designation per case (its reason).
        for row in db.session.scalars(sa.select(RoleAssignment)).all():
            for fixed in (RoleAssignment(case_id=row.case_id, agency_id=row.agency_id,
                                         function=row.function, valid_from=row.valid_from,
                                         corrects=row),
                          RoleAssignment(case_id=row.case_id, agency_id=row.agency_id,
                                         function=RoleFunction.main_support,
                                         valid_from=row.valid_from, designated=True)):
                _plant(fixed)
                db.session.add(fixed)
        db.session.commit()
    return sample


def sample_date():
    from datetime import date

    return date(2025, 6, 1)


CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+|(csrf_token=)[^&"\s]+')


def _pages(app, role: Role):
    """Every page and export of every screen the matrix opens to ``role``, for every record."""
    urls = ["/admin/"]
    with app.app_context():
        for _view, resource, _group in VIEWS:
            granted = MATRIX[resource].get(role, frozenset())
            model = RESOURCES[resource].model
            ids = db.session.scalars(sa.select(model.id)).all()
            if LIST in granted:
                urls += [f"/admin/{resource}/", f"/admin/{resource}/?search=%E3%80%8A"]
            if EXPORT in granted:
                urls.append(f"/admin/{resource}/export/csv/")
            for record_id in ids:
                if DETAILS in granted and resource == "case":  # its page is the case page
                    urls.append(f"/admin/case_page/?id={record_id}")
                elif DETAILS in granted:
                    urls.append(f"/admin/{resource}/details/?id={record_id}")
                if EDIT in granted:
                    urls.append(f"/admin/{resource}/edit/?id={record_id}")
        case_ids = db.session.scalars(sa.select(Case.id)).all()
        practitioner = db.session.scalars(sa.select(Meeting.id).where(
            Meeting.kind == MeetingKind.practitioner)).all()
    urls += [f"/admin/case_access_log/?case_id={case_id}" for case_id in case_ids]
    # The workflow screens (issue 10) show the same records in their own way.
    for case_id in case_ids:
        urls += [f"/admin/role_editor/?case={case_id}",
                 f"/admin/case_conference/?case={case_id}",
                 f"/admin/case_conference/panel?case={case_id}&index=0",
                 f"/admin/intake/?woman={case_id}"]
    urls += [f"/admin/practitioner_review/?meeting={meeting_id}" for meeting_id in practitioner]
    urls += ["/admin/practitioner_review/", "/admin/intake/candidates?name=秘匿&furigana=",
             "/admin/case_conference/cases?q=秘匿"]
    urls += ["/admin/address_secrecy/",
             "/admin/case_review/ajax/lookup/?name=case&query=青木",
             "/admin/case/ajax/lookup/?name=woman&query=秘匿"]
    return urls


def _read(client, url) -> str:
    response = client.get(url)
    assert response.status_code in (200, 403, 404), (url, response.status_code)
    return CSRF.sub(r"\1\2", response.get_data(as_text=True))


@pytest.mark.parametrize("role", [Role.clerk, Role.supervisor, Role.agency_staff, Role.admin])
def test_no_spelling_reaches_a_reader_who_may_not_see_it(app, login_as, world, role):
    client = login_as(role.value)
    leaks = {}
    for url in _pages(app, role):
        body = _read(client, url)
        found = [s for s in SPELLINGS if s in body] + [p for p in PIECES if p in body]
        if found:
            leaks[url] = found
    assert leaks == {}


def test_the_coordinator_sees_every_spelling_where_it_was_written(app, login_as, world):
    client = login_as("coordinator")
    body = "".join(_read(client, url) for url in (
        f"/admin/meeting/details/?id={world['meeting']}",
        f"/admin/woman/details/?id={world['woman']}",
        f"/admin/case_page/?id={world['case']}"))
    assert all(s.replace("\r\n", "\n") in body or s in body for s in SPELLINGS if "\r" not in s)
    assert MASK not in body


def test_what_remains_is_the_mask_in_place(login_as, world):
    body = login_as("clerk").get(f"/admin/meeting/details/?id={world['meeting']}").get_data(
        as_text=True)
    # Each marker survives, followed by the mask: masked where it was written, nothing else.
    for i in range(len(SPELLINGS)):
        assert f"《minutes{i}》{MASK}。" in body
