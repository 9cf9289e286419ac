"""Fictional bulk data for the ledger benchmark: one case per woman over five 年度.

Rows go in with Core executemany (no ORM unit of work), so this module also fills, by hand,
everything the ORM events fill on a normal save:

* ``Woman.search_text`` and the ``name_search_grams`` rows (models/women.py ``_index_names``);
* ``Case.number`` / ``fiscal_year`` / ``serial`` and ``case_serials`` (``_assign_number``);
* ``Case.last_review_on`` = the latest ``CaseReview.reviewed_on`` (``refresh_last_review``).

All names are invented combinations of common surnames and given names; addresses are in the
fictional みどり市, 架空県, and phone numbers use the 000 prefix that no real line has.
"""

import itertools
import random
import time
from datetime import date, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_prefix
from kyogikai.japanese.kana import fold
from kyogikai.models import (
    Agency,
    AgencyCategory,
    Case,
    CaseReview,
    CaseSerial,
    CaseStatus,
    Level,
    Meeting,
    MeetingCase,
    MeetingKind,
    NameSearchGram,
    ReferralRoute,
    RoleAssignment,
    RoleFunction,
    Woman,
)
from kyogikai.models.base import utcnow
from kyogikai.models.women import search_grams

__all__ = ["seed", "case_with_history", "RARE_NAME", "RARE_FURIGANA", "SURNAMES", "GIVEN_NAMES"]

FISCAL_YEARS = 5
CHUNK = 5_000  # rows per executemany; keeps parameter lists and memory small

# (surname, reading, weight). 佐藤 carries 5% of all rows (66 of 1315), so a search for it returns ~5% of
# the ledger, the hard case for an index lookup (many candidates, each to confirm).
SURNAMES = [
    ("佐藤", "サトウ", 66), ("鈴木", "スズキ", 40), ("高橋", "タカハシ", 36), ("田中", "タナカ", 34),
    ("伊藤", "イトウ", 30), ("渡辺", "ワタナベ", 30), ("山本", "ヤマモト", 29),
    ("中村", "ナカムラ", 28), ("小林", "コバヤシ", 27), ("加藤", "カトウ", 25),
    ("吉田", "ヨシダ", 25), ("山田", "ヤマダ", 24), ("佐々木", "ササキ", 22), ("山口", "ヤマグチ", 20),
    ("松本", "マツモト", 20), ("井上", "イノウエ", 20), ("木村", "キムラ", 19), ("林", "ハヤシ", 18),
    ("斎藤", "サイトウ", 18), ("清水", "シミズ", 18), ("山崎", "ヤマザキ", 16), ("森", "モリ", 16),
    ("池田", "イケダ", 15), ("橋本", "ハシモト", 15), ("阿部", "アベ", 15), ("石川", "イシカワ", 15),
    ("山下", "ヤマシタ", 14), ("中島", "ナカジマ", 14), ("石井", "イシイ", 14), ("小川", "オガワ", 14),
    ("前田", "マエダ", 13), ("岡田", "オカダ", 13), ("長谷川", "ハセガワ", 13), ("藤田", "フジタ", 13),
    ("後藤", "ゴトウ", 13), ("近藤", "コンドウ", 12), ("村上", "ムラカミ", 12), ("遠藤", "エンドウ", 12),
    ("青木", "アオキ", 12), ("坂本", "サカモト", 12), ("斉藤", "サイトウ", 11), ("福田", "フクダ", 11),
    ("太田", "オオタ", 11), ("西村", "ニシムラ", 11), ("藤井", "フジイ", 11), ("金子", "カネコ", 10),
    ("岡本", "オカモト", 10), ("藤原", "フジワラ", 10), ("中野", "ナカノ", 10), ("三浦", "ミウラ", 10),
    ("原田", "ハラダ", 10), ("中川", "ナカガワ", 10), ("松田", "マツダ", 10), ("竹内", "タケウチ", 10),
    ("小野", "オノ", 9), ("田村", "タムラ", 9), ("中山", "ナカヤマ", 9), ("和田", "ワダ", 9),
    ("石田", "イシダ", 9), ("森田", "モリタ", 9), ("上田", "ウエダ", 9), ("原", "ハラ", 9),
    ("柴田", "シバタ", 9), ("酒井", "サカイ", 9), ("工藤", "クドウ", 9), ("横山", "ヨコヤマ", 9),
    ("宮崎", "ミヤザキ", 8), ("宮本", "ミヤモト", 8), ("内田", "ウチダ", 8), ("高木", "タカギ", 8),
    ("安藤", "アンドウ", 8), ("谷口", "タニグチ", 8), ("大野", "オオノ", 8), ("丸山", "マルヤマ", 8),
    ("今井", "イマイ", 8), ("高田", "タカダ", 8), ("藤本", "フジモト", 8), ("武田", "タケダ", 8),
    ("村田", "ムラタ", 8), ("上野", "ウエノ", 8), ("杉山", "スギヤマ", 8), ("増田", "マスダ", 8),
    ("小山", "コヤマ", 7), ("大塚", "オオツカ", 7), ("平野", "ヒラノ", 7), ("菅原", "スガワラ", 7),
    ("久保", "クボ", 7), ("松井", "マツイ", 7), ("千葉", "チバ", 7), ("岩崎", "イワサキ", 7),
    ("桜井", "サクライ", 7), ("木下", "キノシタ", 7), ("野口", "ノグチ", 7), ("松尾", "マツオ", 7),
    ("菊地", "キクチ", 7), ("野村", "ノムラ", 7), ("新井", "アライ", 7), ("渡部", "ワタナベ", 7),
]

GIVEN_NAMES = [
    ("美咲", "ミサキ"), ("陽子", "ヨウコ"), ("真由美", "マユミ"), ("恵", "メグミ"), ("由美子", "ユミコ"),
    ("彩", "アヤ"), ("千尋", "チヒロ"), ("麻衣", "マイ"), ("さくら", "サクラ"), ("優子", "ユウコ"),
    ("香織", "カオリ"), ("奈々", "ナナ"), ("智子", "トモコ"), ("裕子", "ユウコ"), ("直美", "ナオミ"),
    ("久美子", "クミコ"), ("明美", "アケミ"), ("洋子", "ヨウコ"), ("京子", "キョウコ"),
    ("幸子", "サチコ"), ("愛", "アイ"), ("舞", "マイ"), ("美穂", "ミホ"), ("麻美", "アサミ"),
    ("沙織", "サオリ"), ("瞳", "ヒトミ"), ("綾香", "アヤカ"), ("遥", "ハルカ"), ("結衣", "ユイ"),
    ("葵", "アオイ"), ("陽菜", "ヒナ"), ("凛", "リン"), ("美月", "ミツキ"), ("七海", "ナナミ"),
    ("里美", "サトミ"), ("聡子", "サトコ"), ("純子", "ジュンコ"), ("典子", "ノリコ"),
    ("由香", "ユカ"), ("亜希子", "アキコ"), ("まゆ", "マユ"), ("みなみ", "ミナミ"),
    ("友美", "トモミ"), ("理恵", "リエ"), ("加奈子", "カナコ"), ("真理子", "マリコ"),
]

# One woman with an unusual name: the "rare full name" search should return exactly her.
RARE_NAME, RARE_FURIGANA = "勅使河原 紗季", "テシガワラ\u3000サキ"

STREETS = ["緑町", "桜台", "若葉", "中央", "旭町", "南原", "北野", "東雲", "西浜", "本町"]

AGENCIES = [
    ("みどり市 福祉部 女性支援課（架空）", AgencyCategory.local_government),
    ("みどり市 こども家庭課（架空）", AgencyCategory.local_government),
    ("架空県 女性相談支援センター", AgencyCategory.womens_consultation_office),
    ("架空県立 女性自立支援施設 わかば寮", AgencyCategory.womens_protection_facility),
    ("みどり市 福祉事務所（架空）", AgencyCategory.welfare_office),
    ("みどり市 配偶者暴力相談支援センター（架空）", AgencyCategory.dv_support_center),
    ("架空県 みどり児童相談所", AgencyCategory.child_guidance_center),
    ("みどり市 男女共同参画センター（架空）", AgencyCategory.womens_center),
    ("架空県 ワンストップ支援センター", AgencyCategory.one_stop_center),
    ("みどり市立病院（架空）", AgencyCategory.medical_institution),
    ("みどり市 保健センター（架空）", AgencyCategory.municipal_health_center),
    ("架空県 みどり保健所（架空）", AgencyCategory.public_health_center),
    ("架空県警 みどり中央警察署", AgencyCategory.police),
    ("みどり市 社会福祉協議会（架空）", AgencyCategory.social_welfare_council),
    ("NPO法人 こもれびサポート（架空）", AgencyCategory.private_organization),
]

SITUATIONS = ["一時保護所から民間シェルターへ移り、生活は落ち着きつつある。",
              "就労に向けた相談を開始。子の保育所入所手続き中。",
              "加害者からの連絡が続いており、警察と連携して見守りを継続。",
              "体調不良が続くため、医療機関の受診に同行した。",
              "生活保護の申請を行い、住居の確保に向けて調整中。"]
POLICIES = ["安全確保を最優先とし、関係機関で情報を共有する。",
            "自立に向けた就労支援と住居確保を並行して進める。",
            "3か月ごとに状況を確認し、必要に応じて会議を開催する。"]
END_REASONS = {CaseStatus.closed: "自立した生活の再建により終結（架空）",
               CaseStatus.transferred: "転居に伴い転居先の自治体へ移管（架空）"}

LEVELS = [Level.high.value, Level.medium.value, Level.low.value, None]
ROUTES = [route.value for route in ReferralRoute]


@cache
def _index(name: str, alias: str, furigana: str) -> tuple[str, tuple[str, ...]]:
    """search_text and grams exactly as models/women.py computes them (cached: names repeat)."""
    parts = [p for p in (name, alias, furigana) if p]
    return "|".join(fold(p) for p in parts), tuple(search_grams(*parts))


def _insert(session: Session, table: sa.Table, rows: list[dict], timings: dict | None = None):
    started = time.perf_counter()
    for start in range(0, len(rows), CHUNK):
        session.execute(table.insert(), rows[start:start + CHUNK])
    if timings is not None:
        timings[table.name] = round(time.perf_counter() - started, 2)


def _next_id(session: Session, table: sa.Table) -> int:
    return (session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1


def _agencies(session: Session) -> list[int]:
    table = Agency.__table__
    existing = dict(session.execute(sa.select(table.c.name, table.c.id)).all())
    now = utcnow()
    new = [{"name": name, "category": category.value, "member_from": date(2020, 4, 1),
            "contact_person": "代表窓口", "phone": "000-0000-0000", "created_at": now,
            "updated_at": now}
           for name, category in AGENCIES if name not in existing]
    if new:
        _insert(session, table, new)
    return list(session.scalars(sa.select(table.c.id).order_by(table.c.id)))


def _status(received: date, today: date, rng: random.Random) -> CaseStatus:
    age = (today - received).days
    if age > 540:
        weights = [1, 4, 10, 70, 15]
    elif age > 180:
        weights = [3, 35, 30, 25, 7]
    else:
        weights = [30, 50, 15, 4, 1]
    return rng.choices(list(CaseStatus), weights=weights)[0]


def _sync_sequences(session: Session, tables: list[sa.Table]) -> None:
    """Ids were given explicitly; on PostgreSQL move each serial sequence past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"))


def seed(session: Session, n_cases: int, seed: int = 1, today: date | None = None) -> dict:
    """Add n_cases women, one case each, over the last five 年度; return row counts.

    Does not commit: the caller owns the transaction.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    rng = random.Random(seed)
    today = today or date.today()
    first_day = date(fiscal_year(today) - FISCAL_YEARS + 1, 4, 1)
    span = (today - first_day).days
    agency_ids = _agencies(session)
    lead_agencies = agency_ids[: max(3, len(agency_ids) // 3)]
    now = utcnow()

    surnames = [s[:2] for s in SURNAMES]
    cum_weights = list(itertools.accumulate(s[2] for s in SURNAMES))
    woman_table, gram_table = Woman.__table__, NameSearchGram.__table__
    first_woman = _next_id(session, woman_table)
    women, grams = [], []
    rare_at = n_cases // 2
    for i in range(n_cases):
        woman_id = first_woman + i
        if i == rare_at:
            name, furigana, alias = RARE_NAME, RARE_FURIGANA, ""
        else:
            sur, sur_kana = rng.choices(surnames, cum_weights=cum_weights)[0]
            given, given_kana = rng.choice(GIVEN_NAMES)
            name, furigana = f"{sur} {given}", f"{sur_kana}\u3000{given_kana}"
            alias = ""
            if rng.random() < 0.03:  # 通称: e.g. the surname she still uses at work
                alias = f"{rng.choices(surnames, cum_weights=cum_weights)[0][0]} {given}"
        search_text, woman_grams = _index(name, alias, furigana)
        women.append({
            "id": woman_id, "name": name, "furigana": furigana, "alias": alias,
            "birth_date": date(rng.randint(1950, 2007), rng.randint(1, 12), rng.randint(1, 28)),
            "phone": "000-0000-0000", "referral_route": rng.choice(ROUTES), "note": "",
            "search_text": search_text, "postal_code": "000-0000", "prefecture": "架空県",
            "municipality": "みどり市", "street": f"{rng.choice(STREETS)}{rng.randint(1, 9)}丁目",
            "katagaki": "", "address_hidden": rng.random() < 0.3,
            "created_at": now, "updated_at": now,
        })
        grams.extend({"woman_id": woman_id, "gram": g} for g in woman_grams)
    _insert(session, woman_table, women, timings)
    _insert(session, gram_table, grams, timings)

    # Cases in order of 受理日, so serials follow dates as they would have been drawn.
    received = sorted(first_day + timedelta(days=rng.randint(0, span)) for _ in range(n_cases))
    owners = list(range(first_woman, first_woman + n_cases))
    rng.shuffle(owners)
    serial_table = CaseSerial.__table__
    last_serial = dict(session.execute(
        sa.select(serial_table.c.fiscal_year, serial_table.c.last_serial)).all())
    known_years = set(last_serial)
    case_table, review_table = Case.__table__, CaseReview.__table__
    first_case = _next_id(session, case_table)
    cases, reviews, roles = [], [], []
    for i, (received_on, woman_id) in enumerate(zip(received, owners, strict=True)):
        case_id = first_case + i
        fy = fiscal_year(received_on)
        serial = last_serial[fy] = last_serial.get(fy, 0) + 1
        status = _status(received_on, today, rng)
        ended_on, end_reason = None, ""
        if status in END_REASONS:
            ended_on = min(received_on + timedelta(days=rng.randint(30, 400)), today)
            end_reason = END_REASONS[status]
        lead = rng.choice(lead_agencies)
        risk, urgency = rng.choice(LEVELS), rng.choice(LEVELS)
        last_review = None
        if rng.random() < 0.65:
            window = ((ended_on or today) - received_on).days
            for _ in range(rng.randint(1, 4) if window >= 14 else 0):
                reviewed_on = received_on + timedelta(days=rng.randint(14, window))
                last_review = max(last_review or reviewed_on, reviewed_on)
                reviews.append({
                    "case_id": case_id, "meeting_id": None, "reviewed_on": reviewed_on,
                    "lead_agency_id": lead, "situation": rng.choice(SITUATIONS),
                    "risk_level": risk, "urgency": urgency,
                    "support_policy": rng.choice(POLICIES), "created_at": now, "updated_at": now,
                })
        cases.append({
            "id": case_id, "number": f"{fiscal_year_prefix(fy)}-{serial:04d}",
            "fiscal_year": fy, "serial": serial, "woman_id": woman_id, "received_on": received_on,
            "status": status.value, "ended_on": ended_on, "end_reason": end_reason,
            "risk_level": risk, "urgency": urgency, "lead_agency_id": lead, "note": "",
            # The ledger's values: every review here repeats the case's own judgment and lead.
            "current_risk_level": risk, "current_urgency": urgency,
            "current_lead_agency_id": lead,
            "last_review_on": last_review, "created_at": now, "updated_at": now,
        })
        if rng.random() < 0.8:  # 主たる支援機関, 5% of them designated under 要綱 4(3)③
            designated = rng.random() < 0.05
            roles.append({
                "case_id": case_id, "agency_id": rng.choice(agency_ids),
                "function": "main_support", "valid_from": received_on, "note": "",
                "designated": designated, "cancels": False, "correction_reason": "",
                "designation_reason": "関係機関の協議が調わないため（架空）" if designated else "",
                "created_at": now, "updated_at": now})
    _insert(session, case_table, cases, timings)
    _insert(session, review_table, reviews, timings)
    _insert(session, RoleAssignment.__table__, roles, timings)

    _insert(session, serial_table, [{"fiscal_year": fy, "last_serial": last}
                                    for fy, last in sorted(last_serial.items())
                                    if fy not in known_years])
    for fy in known_years:
        session.execute(serial_table.update().where(serial_table.c.fiscal_year == fy)
                        .values(last_serial=last_serial[fy]))
    _sync_sequences(session, [woman_table, case_table])
    return {"agencies": len(agency_ids), "women": len(women), "name_search_grams": len(grams),
            "cases": len(cases), "case_reviews": len(reviews), "role_assignments": len(roles),
            "fiscal_years": sorted(last_serial),
            "insert_seconds": timings, "total_seconds": round(time.perf_counter() - started, 2)}


def case_with_history(session: Session, agency_id: int, reviews: int = 20, roles: int = 10,
                      meetings: int = 5) -> int:
    """Give one case of ``agency_id``'s scope (it holds the 主たる支援機関 role) a long history, as
    the case page's target describes it (issue 13): ``reviews`` 管理記録 and ``roles`` role rows
    in all (the seeded ones included), and ``meetings`` 個別ケース検討会議 that discussed it,
    attended by that agency, each with a 管理記録. Through the ORM, so the case's ledger values follow the
    latest review as on a real save. Does not commit; returns the case's id."""
    case = session.scalars(
        sa.select(Case).join(RoleAssignment, RoleAssignment.case_id == Case.id)
        .where(RoleAssignment.agency_id == agency_id,
               RoleAssignment.function == RoleFunction.main_support, Case.ended_on.is_(None))
        .order_by(Case.received_on, Case.id).limit(1)).one()
    agencies = _agencies(session)
    others = [a for a in agencies if a != agency_id]
    day = case.received_on
    levels = [Level.high, Level.medium, Level.low, None]
    held = []
    for n in range(meetings):
        meeting = Meeting(kind=MeetingKind.case_conference, held_on=day + timedelta(days=30 * n + 7),
                          place=f"みどり市役所 第{n + 1}会議室（架空）",
                          agenda="支援方針と役割分担の確認（架空）",
                          agencies=session.scalars(sa.select(Agency).where(
                              Agency.id.in_([agency_id, *others[n:n + 2]]))).all())
        session.add_all([meeting, MeetingCase(meeting=meeting, case=case, note="継続して検討")])
        held.append(meeting)
    seeded = session.scalar(sa.select(sa.func.count()).select_from(CaseReview)
                            .where(CaseReview.case_id == case.id))
    for n in range(reviews - seeded):
        meeting = held[n] if n < meetings else None
        session.add(CaseReview(
            case=case, meeting=meeting,
            reviewed_on=meeting.held_on if meeting else day + timedelta(days=9 * n + 10),
            lead_agency_id=others[n // 7], situation=SITUATIONS[n % len(SITUATIONS)],
            risk_level=levels[n % len(levels)], urgency=levels[(n + 1) % len(levels)],
            support_policy=POLICIES[n % len(POLICIES)]))
    functions = [f for f in RoleFunction if f is not RoleFunction.main_support]
    seeded = session.scalar(sa.select(sa.func.count()).select_from(RoleAssignment)
                            .where(RoleAssignment.case_id == case.id))
    for n in range(roles - seeded):
        start = day + timedelta(days=30 * (n // len(functions)) + 7)
        session.add(RoleAssignment(
            case=case, agency_id=others[n % len(others)], function=functions[n % len(functions)],
            meeting=held[min(n // len(functions), meetings - 1)], valid_from=start,
            valid_to=start + timedelta(days=29) if n < roles - seeded - len(functions) else None,
            note="会議で決定（架空）"))
    session.flush()
    return case.id
