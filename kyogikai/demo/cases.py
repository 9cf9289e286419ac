"""Fictional women, cases, consents, meetings and 管理記録 for the demo council.

Names are drawn from common surname/given-name lists and addresses from an invented city
(みどり市, 架空県); phone numbers use the 000 prefix that no real line has.
"""

import random
from datetime import date, timedelta

from kyogikai.models import (
    Agency,
    AgencyCategory,
    AnnualReport,
    BusinessPlan,
    Case,
    CaseReview,
    CaseStatus,
    Companion,
    Concern,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Level,
    Meeting,
    MeetingCase,
    MeetingKind,
    Member,
    PlanCostLine,
    ReferralRoute,
    Relationship,
    ReportCostLine,
    RoleAssignment,
    RoleFunction,
    SupportKind,
    SupportRecord,
    Woman,
    db,
)

SURNAMES = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
            ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
            ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
            ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"),
            ("清水", "シミズ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト")]
WOMEN = [("美咲", "ミサキ"), ("陽子", "ヨウコ"), ("真由美", "マユミ"), ("恵", "メグミ"),
         ("由美子", "ユミコ"), ("彩", "アヤ"), ("千尋", "チヒロ"), ("麻衣", "マイ"),
         ("さくら", "サクラ"), ("優子", "ユウコ"), ("香織", "カオリ"), ("奈々", "ナナ")]
CHILDREN = [("蓮", "レン"), ("陽翔", "ハルト"), ("結菜", "ユイナ"), ("湊", "ミナト"),
            ("芽依", "メイ"), ("蒼", "アオイ")]
STREETS = ["緑町1丁目", "桜台2丁目", "若葉3丁目", "中央4丁目", "旭町5丁目", "南原6丁目"]
BUILDINGS = ["みどりハイツ", "さくら台コーポ", "わかばレジデンス", "ひかり荘"]  # 架空の建物名
SITUATIONS = ["一時保護所から民間シェルターへ移り、生活は落ち着きつつある。",
              "就労に向けた相談を開始。子の保育所入所手続き中。",
              "加害者からの連絡が続いており、警察と連携して見守りを継続。",
              "体調不良が続くため、医療機関の受診に同行した。",
              "生活保護の申請を行い、住居の確保に向けて調整中。"]
POLICIES = ["安全確保を最優先とし、関係機関で情報を共有する。",
            "自立に向けた就労支援と住居確保を並行して進める。",
            "3か月ごとに状況を確認し、必要に応じて会議を開催する。"]


def load_case_data(agencies: list[Agency], rng: random.Random) -> None:
    """About 40 cases over two 年度, with a full 令和8年度 of meetings and reviews."""
    by_kind = {a.category: a for a in agencies}
    concerns = db.session.query(Concern).order_by(Concern.sort_order).all()
    members = db.session.query(Member).order_by(Member.id).all()
    cases = [_case(i, agencies, concerns, rng) for i in range(40)]
    db.session.flush()
    meetings = _meetings(agencies, members, rng)
    db.session.flush()
    conferences = [m for m in meetings if m.kind is MeetingKind.case_conference]
    for i, case in enumerate(cases):
        involved = _follow_up(case, by_kind, conferences, agencies, rng, designate=i % 13 == 6)
        _consent(case, agencies, members, rng, involved, withdraw_one=i % 9 == 4)
    _reports(rng)


def _case(i: int, agencies: list[Agency], concerns: list[Concern], rng: random.Random) -> Case:
    (sur, sur_kana), (given, given_kana) = rng.choice(SURNAMES), rng.choice(WOMEN)
    birth = date(rng.randint(1965, 2006), rng.randint(1, 12), rng.randint(1, 28))
    woman = Woman(name=f"{sur} {given}", furigana=f"{sur_kana}\u3000{given_kana}",
                  birth_date=birth, postal_code="000-0000", prefecture="架空県",
                  municipality="みどり市", street=f"{rng.choice(STREETS)}{rng.randint(1, 30)}番",
                  katagaki=f"{BUILDINGS[i % len(BUILDINGS)]}{i % 5 + 1}0{i % 7 + 1}号室",
                  address_hidden=rng.random() < 0.3,
                  phone="000-0000-0000", referral_route=rng.choice(list(ReferralRoute)),
                  concerns=rng.sample(concerns, k=rng.randint(1, 3)),
                  note="デモ用の架空の人物です。")
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 2)):
            child, child_kana = rng.choice(CHILDREN)
            woman.companions.append(Companion(
                name=f"{sur} {child}", furigana=f"{sur_kana}\u3000{child_kana}",
                relationship_to_woman=Relationship.child,
                birth_date=date(rng.randint(2010, 2024), rng.randint(1, 12), rng.randint(1, 28))))
    received = date(2025, 4, 1) + timedelta(days=rng.randint(0, 560))
    status = rng.choices(list(CaseStatus), weights=[2, 6, 3, 2, 1])[0]
    case = Case(woman=woman, received_on=received, status=status,
                risk_level=rng.choice(list(Level)), urgency=rng.choice(list(Level)),
                lead_agency=rng.choice(agencies[:6]), note="")
    if status in (CaseStatus.closed, CaseStatus.transferred):
        case.ended_on = min(received + timedelta(days=rng.randint(60, 300)), date(2026, 11, 20))
        case.end_reason = ("自立した生活の再建により終結" if status is CaseStatus.closed
                           else "転居に伴い転居先の自治体へ移管")
    db.session.add(case)
    return case


def _meetings(agencies: list[Agency], members: list[Member], rng: random.Random):
    plan = [(MeetingKind.representative, date(2026, 5, 15)),
            (MeetingKind.representative, date(2027, 2, 19))]
    plan += [(MeetingKind.practitioner, date(2026, m, 10)) for m in (4, 7, 10)]
    plan += [(MeetingKind.practitioner, date(2027, 1, 12))]
    plan += [(MeetingKind.case_conference, date(2026, 4, 20) + timedelta(days=18 * i))
             for i in range(12)]
    meetings = []
    for kind, held_on in plan:
        done = held_on <= date(2026, 11, 26)
        attending = agencies if kind is not MeetingKind.case_conference else rng.sample(
            agencies, k=rng.randint(3, 5))
        meeting = Meeting(kind=kind, held_on=held_on, place="みどり市役所 第3会議室（架空）",
                          agencies=list(attending),
                          members=[m for m in members if m.agency in attending],
                          agenda=f"{kind.label}（デモ）", minutes="（デモ用の議事録）" if done else "",
                          decisions="役割分担と次回の日程を確認した。" if done else "",
                          next_meeting_on=held_on + timedelta(days=90))
        db.session.add(meeting)
        meetings.append(meeting)
    return meetings


def _consent(case: Case, agencies: list[Agency], members: list[Member], rng: random.Random,
             involved: set[Agency], withdraw_one: bool):
    """She agreed to share with the agencies working on her case (as the consent gate asks), and
    a few more; a demo agency's staff thus see the cases their agency works on."""
    others = [a for a in agencies if a not in involved]
    extra = rng.sample(others, k=min(len(others), rng.randint(1, 3)))
    covered = sorted(involved, key=lambda a: a.id) + extra
    withdrawn = case.received_on + timedelta(days=200) if rng.random() < 0.1 else None
    consent = Consent(woman=case.woman, purpose=ConsentPurpose.case_conference,
                      obtained_on=case.received_on, method=rng.choice(list(ConsentMethod)),
                      obtained_by=members[0], agencies=covered,
                      valid_until=case.received_on + timedelta(days=365), withdrawn_on=withdrawn)
    db.session.add(consent)
    if withdraw_one:  # she stopped sharing with one agency; the others stay covered
        db.session.flush()
        consent.withdraw_for(covered[-1].id, case.received_on + timedelta(days=30))


def _follow_up(case: Case, by_kind: dict, conferences: list[Meeting], agencies: list[Agency],
               rng: random.Random, designate: bool) -> set[Agency]:
    """Meetings, reviews, roles and records of one case; returns the agencies involved."""
    police = by_kind.get(AgencyCategory.police)
    involved = {case.lead_agency}
    for meeting in conferences:
        if meeting.held_on < case.received_on or rng.random() > 0.25:
            continue
        if meeting.held_on > date(2026, 11, 26):
            continue
        db.session.add(MeetingCase(meeting=meeting, case=case))
        involved.update(meeting.agencies)
        db.session.add(CaseReview(case=case, meeting=meeting, reviewed_on=meeting.held_on,
                                  lead_agency=case.lead_agency,
                                  situation=rng.choice(SITUATIONS),
                                  risk_level=case.risk_level, urgency=case.urgency,
                                  support_policy=rng.choice(POLICIES)))
        if not case.role_assignments:
            main_support = rng.choice(agencies)
            involved.add(main_support)
            for function, agency in ((RoleFunction.direct_support, main_support),
                                     (RoleFunction.case_management, case.lead_agency),
                                     (RoleFunction.main_support, main_support)):
                db.session.add(RoleAssignment(case=case, agency=agency, function=function,
                                              meeting=meeting, valid_from=meeting.held_on,
                                              designated=designate and function is
                                              RoleFunction.main_support,
                                              designation_reason="関係機関の協議が調わず、支援の遅れを"
                                              "避けるため（デモ）" if designate else ""))
    db.session.add(SupportRecord(case=case, recorded_on=case.received_on, agency=case.lead_agency,
                                 kind=SupportKind.interview, content="初回面接（デモ）"))
    if police is not None and case.risk_level is Level.high:
        db.session.add(SupportRecord(case=case, recorded_on=case.received_on + timedelta(days=3),
                                     agency=police, kind=SupportKind.liaison,
                                     content="警察と安全確保について連絡調整（デモ）"))
        involved.add(police)
    return involved


def _reports(rng: random.Random) -> None:
    db.session.add(BusinessPlan(
        fiscal_year=2026, submitted_on=date(2026, 3, 20), period_from=date(2026, 4, 1),
        period_to=date(2027, 3, 31), expected_women=45,
        council_members="要綱4(1)に掲げる15機関（デモ）",
        council_activities="地域協議会を設置し、関係機関の連携を強化する。",
        representative_members="各機関の管理職", representative_activities="年2回開催",
        practitioner_members="各機関の実務担当者", practitioner_activities="四半期ごとに開催",
        case_conference_members="ケースに関わる機関の担当者",
        case_conference_activities="適時開催（月1～2回程度）",
        coordinator_staff="社会福祉士1名（調整担当者）",
        coordinator_activities="進行管理台帳の管理と連絡調整",
        cost_lines=[PlanCostLine(item="人件費（調整担当者）", amount_yen=3_600_000),
                    PlanCostLine(item="会議費", amount_yen=240_000),
                    PlanCostLine(item="事務費", amount_yen=160_000)]))
    db.session.add(AnnualReport(
        fiscal_year=2025, submitted_on=date(2026, 4, 25),
        council_members="要綱4(1)に掲げる15機関（デモ）", council_results="地域協議会を設置した。",
        ingenuity_effects_issues="個別ケース検討会議の定例化により、対応の遅れが減った（デモ）。",
        cost_lines=[ReportCostLine(item="人件費", amount_yen=3_450_000),
                    ReportCostLine(item="会議費", amount_yen=198_000),
                    ReportCostLine(item="事務費", amount_yen=121_500)]))
