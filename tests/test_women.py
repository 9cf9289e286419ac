"""支援対象女性 and companions: フリガナ in katakana, inline companions, Japanese messages."""

from datetime import date

import sqlalchemy as sa

from kyogikai.models import Companion, Woman, db
from tests.conftest import post_form
from tests.english import english_words


def _woman_form(**overrides):
    data = {"name": "石田 綾", "furigana": "いしだ あや", "alias": "", "birth_date": "H2.2.28",
            "postal_code": "", "prefecture": "架空県", "municipality": "テスト市",
            "street": "", "katagaki": "", "phone": "", "referral_route": "police", "note": "",
            "companions-0-name": "石田 陽", "companions-0-furigana": "ｲｼﾀﾞ ﾋﾅﾀ",
            "companions-0-relationship_to_woman": "child", "companions-0-birth_date": "2019/5/1"}
    data.update(overrides)
    return data


def test_clerk_types_in_a_woman_with_a_companion(app, login_as):
    client = login_as("clerk")
    response = post_form(client, "/admin/woman/new/", _woman_form())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "レコードを作成しました" in page or "保存しました" in page
    with app.app_context():
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "石田 綾"))
        assert woman.furigana == "イシダ\u3000アヤ"
        assert woman.birth_date == date(1990, 2, 28)
        companion = db.session.scalar(sa.select(Companion).where(Companion.woman_id == woman.id))
        assert (companion.furigana, companion.birth_date) == ("イシダ\u3000ヒナタ", date(2019, 5, 1))


def test_furigana_must_be_kana(app, login_as):
    client = login_as("clerk")
    response = post_form(client, "/admin/woman/new/", _woman_form(furigana="Ishida Aya"))
    assert response.status_code == 200
    assert "フリガナはカタカナ（またはひらがな）で入力してください。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Woman)) == 0


def test_a_birth_date_before_meiji_is_refused_and_the_ledger_still_opens(app, login_as):
    """Typed 1800-01-01 it was stored, and every page showing it in 和暦 failed."""
    client = login_as("clerk")
    response = post_form(client, "/admin/woman/new/", _woman_form(
        birth_date="1800-01-01", **{"companions-0-birth_date": "1700/5/1"}))
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("明治より前の日付は和暦で表せません") == 2
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Woman)) == 0
    assert client.get("/admin/case/").status_code == 200


def test_missing_required_field_message_is_japanese(app, login_as):
    client = login_as("clerk")
    response = post_form(client, "/admin/woman/new/", _woman_form(name=""))
    body = response.get_data(as_text=True)
    assert "この項目は必須です。" in body
    assert not english_words(body)


def test_details_show_age_by_the_legal_rule(app, login_as):
    with app.app_context():
        woman = Woman(name="閏 花子", furigana="ウルウ ハナコ", birth_date=date(2000, 2, 29))
        db.session.add(woman)
        db.session.commit()
        woman_id = woman.id
    page = login_as("coordinator").get(f"/admin/woman/details/?id={woman_id}")
    text = page.get_data(as_text=True)
    assert "平成12年2月29日 (2000-02-29)（" in text


def test_unknown_id_is_404_in_japanese(login_as):
    response = login_as("coordinator").get("/admin/woman/details/?id=99999")
    assert response.status_code == 404
    assert "ページまたは記録が見つかりません。" in response.get_data(as_text=True)
    assert login_as("coordinator").get("/admin/woman/edit/?id=abc").status_code == 404
