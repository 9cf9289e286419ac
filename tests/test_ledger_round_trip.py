"""様式1 out, the ledger importer in: a 年度's 様式1 workbook brought into an empty database gives
back the same cases (番号, names, dates, companions, 管理記録, agencies, 備考)."""

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from kyogikai.models import (
    Agency,
    AgencyCategory,
    Case,
    CaseReview,
    CaseStatus,
    Companion,
    Relationship,
    Role,
    SecrecyChange,
    User,
    Woman,
    db,
)
from kyogikai.policy.masking import MASK
from tests.conftest import _create_app

FY = 2025


@pytest.fixture
def target(fresh_database_url, tmp_path):
    """An empty database of the engine under test, with only the account that imports."""
    app = _create_app(fresh_database_url, tmp_path / "target")
    with app.app_context():
        db.create_all()
        db.session.add(User(login="importer", display_name="取込担当", role=Role.coordinator,
                            password_hash="x", active=True))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _woman(name, furigana, birth, **kwargs):
    """フリガナ as stored (words apart by a full-width space: japanese.kana.to_katakana)."""
    return Woman(name=name, furigana=furigana, birth_date=birth, prefecture="架空県",
                 municipality="テスト市", **kwargs)


@pytest.fixture
def year(app):
    """令和7年度: a woman with two cases, companions, more than four 管理記録, three agencies,
    a case received the year before, a 備考 a spreadsheet would run as a formula."""
    with app.app_context():
        home, police = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()
        shelter = Agency(name="みどり一時保護所", category=AgencyCategory.other)
        aoki = _woman("青木 明美", "アオキ　アケミ", date(1990, 5, 1), street="本町1-2-3",
                      katagaki="さくら荘101")
        aoki.companions += [Companion(name="青木 陽太", relationship_to_woman=Relationship.child),
                            Companion(name="青木 花", relationship_to_woman=Relationship.child)]
        ueno = _woman("上野 若葉", "ウエノ　ワカバ", None, street="若葉1-1")
        ishii = _woman("石井 直子", "イシイ　ナオコ", date(1975, 12, 31), street="古町2-2")
        c1 = Case(woman=aoki, received_on=date(2025, 4, 10), status=CaseStatus.supporting,
                  note='=HYPERLINK("http://example.invalid","x")')
        c2 = Case(woman=ueno, received_on=date(2025, 6, 1), status=CaseStatus.supporting,
                  note="一行目\n二行目")
        c3 = Case(woman=ishii, received_on=date(2024, 11, 5), status=CaseStatus.closed,
                  ended_on=date(2025, 5, 31), end_reason="自立")
        c4 = Case(woman=aoki, received_on=date(2026, 1, 20), status=CaseStatus.received)
        db.session.add_all([shelter, c1, c2, c3, c4])
        db.session.flush()
        agencies = [home, police, shelter]
        for i in range(6):
            db.session.add(CaseReview(case=c1, reviewed_on=date(2025, 5 + i, 10),
                                      lead_agency=agencies[i % 3], situation=f"第{i + 1}回の状況"))
        db.session.add(CaseReview(case=c2, reviewed_on=date(2025, 7, 1), lead_agency=police,
                                  situation="警察と連携\n見守り継続"))
        db.session.add(CaseReview(case=c3, reviewed_on=date(2025, 3, 1), lead_agency=home,
                                  situation="前年度の記録"))
        db.session.add(CaseReview(case=c3, reviewed_on=date(2025, 5, 1), lead_agency=shelter,
                                  situation="今年度の記録"))
        db.session.commit()


def _cases(app) -> dict[str, dict]:
    """番号 → what 様式1 carries of the case; 管理記録 of the 年度 only, as 様式1 prints them."""
    with app.app_context():
        cases = db.session.scalars(sa.select(Case).options(
            selectinload(Case.woman).selectinload(Woman.companions),
            selectinload(Case.reviews).selectinload(CaseReview.lead_agency))).all()
        return {c.number: {
            "woman": (c.woman.name, c.woman.furigana, c.woman.birth_date, c.woman.address_line),
            "companions": sorted((m.name, m.relationship_to_woman) for m in c.woman.companions),
            "received_on": c.received_on,
            "reviews": sorted((r.reviewed_on, r.lead_agency.name if r.lead_agency else "",
                               r.situation) for r in c.reviews
                              if date(FY, 4, 1) <= r.reviewed_on <= date(FY + 1, 3, 31)),
            "note": c.note,
        } for c in cases if c.received_on <= date(FY + 1, 3, 31)}


def _agency_names(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Agency.name)))


def _import(target, tmp_path, data: bytes):
    path = tmp_path / "様式1.xlsx"
    path.write_bytes(data)
    result = target.test_cli_runner().invoke(args=[
        "import-ledger", str(path), "--user", "importer", "--create-agencies",
        "--link-existing", "--yes"])
    assert result.exit_code == 0, result.output
    return result.output


def test_form1_of_a_year_comes_back_through_the_importer(year, app, login_as, target, tmp_path):
    response = login_as("coordinator").get(f"/admin/forms/form1/?fiscal_year={FY}&format=xlsx")
    assert response.status_code == 200
    output = _import(target, tmp_path, response.data)
    assert "取り込まない行 0件" in output, output

    exported, imported = _cases(app), _cases(target)
    assert len(exported) == 4 and set(imported) == set(exported)  # the same 番号
    for number, case in exported.items():
        assert imported[number] == case, number
    # Every agency 様式1 names comes back by name (created on import, 区分 to be checked).
    named = {name for case in exported.values() for _day, name, _text in case["reviews"]}
    assert named == _agency_names(target) == {"テスト市 女性支援課", "テスト警察署",
                                              "みどり一時保護所"}
    # The woman with two cases is one woman again.
    with target.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Woman)) == 3


@pytest.fixture
def hidden_case(app):
    """A case of a woman whose address is hidden (秘匿町9-8-7)."""
    with app.app_context():
        hidden = _woman("石田 秘子", "イシダ　ヒミコ", date(2000, 2, 29), street="秘匿町9-8-7",
                        address_hidden=True)
        db.session.add(Case(woman=hidden, received_on=date(2025, 6, 1),
                            status=CaseStatus.supporting))
        db.session.commit()


@pytest.mark.usefixtures("hidden_case")
def test_a_masked_address_comes_back_hidden_not_as_the_mask(app, login_as, target, tmp_path):
    data = login_as("supervisor").get(f"/admin/forms/form1/?fiscal_year={FY}&format=xlsx").data
    output = _import(target, tmp_path, data)
    assert "確認待ち" in output
    with target.app_context():
        woman = db.session.scalar(sa.select(Woman))
        assert MASK not in woman.address_line and "秘匿町" not in woman.address_line
        # 住所秘匿 is asked for, as a typed tick would be: a second coordinator confirms it.
        assert woman.address_hidden_pending is SecrecyChange.set


@pytest.mark.usefixtures("hidden_case")
def test_a_coordinators_sheet_marks_a_hidden_address_and_it_comes_back_hidden(
        app, login_as, target, tmp_path):
    """A 調整担当者 may see a hidden address, so her 様式1 holds it, after 【住所秘匿】; imported,
    the address is kept and 住所秘匿 is asked for again (never an ordinary address)."""
    from kyogikai.policy.masking import HIDDEN_MARK

    data = login_as("coordinator").get(f"/admin/forms/form1/?fiscal_year={FY}&format=xlsx").data
    output = _import(target, tmp_path, data)
    assert "確認待ち" in output
    with target.app_context():
        woman = db.session.scalar(sa.select(Woman))
        assert "秘匿町9-8-7" in woman.address_line and HIDDEN_MARK not in woman.address_line
        assert woman.address_hidden_pending is SecrecyChange.set
