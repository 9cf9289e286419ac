"""Fictional demo data: believable for a clerk, clearly invented (架空), never real people."""

import os
import random
import secrets
from datetime import date
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from kyogikai.models import Agency, AgencyCategory, Council, Member, Role, User, db
from kyogikai.policy.authentication import hash_password

C = AgencyCategory

# About 15 agencies of the council across the kinds of 要綱 4(1). 架空 names only.
AGENCIES = [
    ("みどり市 福祉部 女性支援課（調整機関）", C.local_government),
    ("みどり市 こども家庭課", C.local_government),
    ("架空県 婦人相談所", C.womens_consultation_office),
    ("架空県立 婦人保護施設 あおば寮", C.womens_protection_facility),
    ("みどり市 福祉事務所", C.welfare_office),
    ("みどり市 配偶者暴力相談支援センター", C.dv_support_center),
    ("架空県 中央児童相談所", C.child_guidance_center),
    ("みどり市 男女共同参画センター", C.womens_center),
    ("架空県 性暴力被害者ワンストップ支援センター", C.one_stop_center),
    ("みどり市民病院（架空）", C.medical_institution),
    ("みどり市 保健センター", C.municipal_health_center),
    ("架空県 みどり保健所", C.public_health_center),
    ("架空県警 みどり警察署", C.police),
    ("みどり市 社会福祉協議会", C.social_welfare_council),
    ("NPO法人 ひだまりサポート（架空）", C.private_organization),
]

DEMO_USERS = [
    ("demo-admin", "情報 管理子", Role.admin, None),
    ("demo-coordinator", "調整 花子", Role.coordinator, 0),
    ("demo-clerk", "事務 桜", Role.clerk, 0),
    ("demo-agency", "機関 椿", Role.agency_staff, 5),
    ("demo-supervisor", "課長 楓", Role.supervisor, 0),
]


def has_case_data() -> bool:
    from kyogikai.models import Case

    return bool(db.session.scalar(select(func.count()).select_from(Case)))


def logins_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.txt"


def load_demo_data(seed: int = 20250401) -> list[str]:
    """Fill every entity; return one printable login line per role (also kept in instance/)."""
    rng = random.Random(seed)  # nosec B311  # fictional demo data, reproducible; passwords use secrets
    agencies = _agencies()
    _council(agencies)
    _members(agencies, rng)
    lines = _users(agencies)
    from kyogikai.demo.cases import load_case_data

    load_case_data(agencies, rng)
    db.session.commit()
    _write_logins(lines)
    return lines


def _agencies() -> list[Agency]:
    rows = []
    for name, category in AGENCIES:
        agency = db.session.scalar(select(Agency).where(Agency.name == name))
        if agency is None:
            agency = Agency(name=name, category=category, member_from=date(2021, 4, 1),
                            contact_person="代表窓口", phone="000-0000-0000")
            db.session.add(agency)
        rows.append(agency)
    db.session.flush()
    return rows


def _council(agencies: list[Agency]) -> None:
    if db.session.scalar(select(func.count()).select_from(Council)):
        return
    db.session.add(Council(name="みどり市 困難な問題を抱える女性支援地域協議会（架空）",
                           municipality="みどり市（架空）", coordinating_agency=agencies[0],
                           review_interval_months=3))


SURNAMES = [("青木", "アオキ"), ("石田", "イシダ"), ("上野", "ウエノ"), ("遠藤", "エンドウ"),
            ("小川", "オガワ"), ("加藤", "カトウ"), ("木村", "キムラ"), ("久保", "クボ")]
GIVEN = [("明美", "アケミ"), ("綾", "アヤ"), ("恵子", "ケイコ"), ("智子", "トモコ"),
         ("直美", "ナオミ"), ("裕子", "ユウコ"), ("由紀", "ユキ"), ("涼子", "リョウコ")]


def _members(agencies: list[Agency], rng: random.Random) -> None:
    if db.session.scalar(select(func.count()).select_from(Member)):
        return
    coordinator = Member(name="調整 花子", furigana="チョウセイ\u3000ハナコ", agency=agencies[0],
                         title="調整担当者", pledge_date=date(2025, 4, 1),
                         active_from=date(2025, 4, 1), is_coordinator=True,
                         qual_social_worker=True, qual_years_in_support=8)
    db.session.add(coordinator)
    for agency in agencies[1:]:
        (sur, sur_kana), (given, given_kana) = rng.choice(SURNAMES), rng.choice(GIVEN)
        db.session.add(Member(name=f"{sur} {given}", furigana=f"{sur_kana}\u3000{given_kana}",
                              agency=agency, title="担当者", pledge_date=date(2025, 4, 1),
                              active_from=date(2025, 4, 1)))


def _users(agencies: list[Agency]) -> list[str]:
    lines = []
    for login, name, role, agency_index in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        user = db.session.scalar(select(User).where(User.login == login))
        if user is None:
            user = User(login=login, role=role)
            db.session.add(user)
        user.display_name = name
        user.agency = agencies[agency_index] if agency_index is not None else None
        user.password_hash = hash_password(password)
        user.active = True
        lines.append(f"{role.label}: ログインID {login}  パスワード {password}")
    return lines


def _write_logins(lines: list[str]) -> None:
    path = logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
