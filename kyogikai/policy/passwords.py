"""The password rule: 12 characters or more, not containing the login, zxcvbn score 3 or more.

zxcvbn estimates how many guesses a password needs from the patterns it finds (common
passwords, words, names, keyboard rows such as qwerty or asdf — the same letters on a Japanese
keyboard —, repeats, sequences, dates). A refusal explains each weak pattern in Japanese, so a
person knows what to change rather than only that it failed.
"""

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MIN_SCORE = 3
# zxcvbn's cost grows with length; beyond this the estimate no longer changes the verdict.
_ESTIMATED_LENGTH = 100


def _explain(match: dict) -> str | None:
    pattern = match.get("pattern")
    if pattern == "dictionary":
        name = match.get("dictionary_name")
        if name == "user_inputs":
            return _("ログインIDや氏名に由来する語が含まれています。")
        if name == "passwords":
            return _("よく使われるパスワードやその一部が含まれています。")
        if name in ("surnames", "male_names", "female_names"):
            return _("人名や姓がそのまま含まれています。")
        if match.get("l33t"):
            return _("文字を記号や数字に置き換えても（p@ssw0rd など）、元の単語は推測されます。")
        return _("辞書にある単語がそのまま含まれています。")
    if pattern == "spatial":
        return _("キーボードの並び（qwerty、asdf、1qaz など）は推測されやすいパターンです。")
    if pattern == "repeat":
        return _("同じ文字や語の繰り返し（aaa、abcabc など）は推測されやすいパターンです。")
    if pattern == "sequence":
        return _("連続した文字や数字（abc、6543 など）は推測されやすいパターンです。")
    if pattern in ("regex", "date"):
        return _("年や日付は推測されやすいパターンです。")
    return None


def password_problems(password: str, login: str = "", other_inputs: tuple = ()) -> list[str]:
    """Japanese reasons why ``password`` is refused; an empty list when it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("パスワードは%(n)d文字以上にしてください。", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(_("パスワードは%(n)d文字以内にしてください。", n=MAX_PASSWORD_LENGTH))
        return problems
    if login and login.strip().casefold() in password.casefold():
        problems.append(_("パスワードにログインIDを含めないでください。"))
    inputs = [value for value in (login, *other_inputs) if value]
    result = zxcvbn(password[:_ESTIMATED_LENGTH], user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        problems.append(_("推測されやすいパスワードです（強度 %(score)d／4。%(min)d 以上が必要です）。",
                          score=result["score"], min=MIN_SCORE))
        for match in result["sequence"]:
            reason = _explain(match)
            if reason and reason not in problems:
                problems.append(reason)
        problems.append(_("関係のない言葉をいくつか組み合わせた長めの文にすると、覚えやすく推測され"
                          "にくくなります。"))
    return problems
