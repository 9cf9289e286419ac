"""The password rule (zxcvbn) and changing one's own password."""

import pytest

from kyogikai.policy.passwords import password_problems
from tests.conftest import PASSWORD, post_form
from tests.english import english_words


@pytest.mark.parametrize(("password", "reason"), [
    ("aaaaaaaaaaaa", "同じ文字や語の繰り返し"),
    ("short pw", "12文字以上"),
    ("yamada-hanako-2025", "ログインIDを含めないでください"),
    ("password1234", "よく使われるパスワード"),
    ("abcdefghijklmn", "連続した文字や数字"),
    ("mju7nhy6bgt5", "キーボードの並び"),
])
def test_weak_passwords_are_refused_with_a_reason(app, password, reason):
    with app.test_request_context():
        problems = password_problems(password, "yamada-hanako")
    assert problems and any(reason in problem for problem in problems), problems
    assert not english_words(" ".join(problems).replace("qwerty", "").replace("asdf", "")
                             .replace("1qaz", "").replace("abc", "").replace("aaa", "")
                             .replace("p@ssw0rd", "")), problems


@pytest.mark.parametrize("password", [PASSWORD, "ひまわり畑の向こうに 青い自転車",
                                      "Tsukimi-dango 3 ko to ocha"])
def test_strong_passwords_pass(app, password):
    with app.test_request_context():
        assert password_problems(password, "yamada-hanako") == []


def _change(client, current, new, confirm=None):
    return post_form(client, "/admin/own_account/", {
        "current": current, "new": new, "confirm": new if confirm is None else confirm},
        target="/admin/own_account/password")


def test_own_password_change_explains_refusals(login_as):
    client = login_as("supervisor")
    body = _change(client, "not my password", "ひまわり畑の向こうに 青い自転車").get_data(as_text=True)
    assert "現在のパスワードが正しくありません。" in body
    body = _change(client, PASSWORD, "ひまわり畑の向こうに 青い自転車", "違う確認").get_data(as_text=True)
    assert "確認用の入力が一致しません" in body
    body = _change(client, PASSWORD, "aaaaaaaaaaaa").get_data(as_text=True)
    assert "推測されやすいパスワードです" in body
    assert _change(client, PASSWORD, "ひまわり畑の向こうに 青い自転車").status_code == 302
