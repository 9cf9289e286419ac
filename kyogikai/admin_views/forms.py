"""The form base every screen uses: Flask-WTF CSRF plus our complete Japanese WTForms catalog."""

from datetime import date
from functools import cache
from pathlib import Path

from babel import support
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, SelectField, StringField
from wtforms.validators import ValidationError

from kyogikai.japanese.fiscal import fiscal_year
from kyogikai.japanese.kana import is_katakana_reading, to_katakana
from kyogikai.japanese.wareki import WarekiError, format_wareki, parse_date, wareki_year_label

FIRST_FISCAL_YEAR = 2021  # 令和3年度: the 要綱's model project began

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


@cache
def _wtforms_translations() -> support.Translations:
    # WTForms' own ja catalog has untranslated and fuzzy entries; ours is complete.
    return support.Translations.load(str(TRANSLATIONS_DIR), ["ja"], domain="wtforms")


class _WTFormsJapanese:
    def gettext(self, string):
        return _wtforms_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return _wtforms_translations().ungettext(singular, plural, n)


class BaseForm(FlaskForm):
    """Flask-Admin's form_base_class: CSRF-protected (with CSRFProtect), messages in Japanese.

    Keeps the edited record as ``_obj``, as Flask-Admin's own BaseForm does: its ``Unique``
    validator compares against it, and without it every save of a record with a unique column
    (an account, a 関係機関, a 主訴区分, a 様式2/3) was refused as a duplicate of itself.
    """

    class Meta:
        def get_translations(self, form):
            return _WTFormsJapanese()

    def __init__(self, *args, **kwargs):
        # (formdata, obj, …) as WTForms orders them; formdata is left to FlaskForm's default.
        self._obj = kwargs.get("obj", args[1] if len(args) > 1 else None)
        super().__init__(*args, **kwargs)


class SubForm(Form):
    """A form nested in another (FormField / FieldList rows): Japanese messages like BaseForm,
    no CSRF token of its own (the outer form carries it)."""

    class Meta:
        def get_translations(self, form):
            return _WTFormsJapanese()


class WarekiDateField(StringField):
    """A date typed the way staff write it: 2025-04-01, 2025/4/1, 令和7年4月1日 or R7.4.1.

    Shown back in 和暦; a date that does not parse is a Japanese field error, never a 500.
    """

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("placeholder", _l("例: 令和7年4月1日、2025-04-01、R7.4.1"))
        super().__init__(label, validators, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_wareki(self.data) if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        if not text:
            self.data = None
            return
        try:
            self.data = parse_date(text)
        except WarekiError as error:
            self.data = None
            raise ValueError(str(error)) from error


class KanaField(StringField):
    """フリガナ: hiragana and half-width kana are stored as full-width katakana, words apart by
    one full-width space. The stored reading written another way (a half-width space from an
    older import or the demo) is kept as stored, so a form saved unchanged changes nothing."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = to_katakana(self.data)
            if isinstance(self.object_data, str) and to_katakana(self.object_data) == self.data:
                self.data = self.object_data

    def pre_validate(self, form):
        if self.data and not is_katakana_reading(self.data):
            # gettext, not a lazy string: Flask-Admin's template shows only errors that are str.
            raise ValidationError(_("フリガナはカタカナ（またはひらがな）で入力してください。"))


def fiscal_year_choices(current: int | None = None) -> list[tuple[int, str]]:
    """令和3年度 … next year's 年度, newest first, labelled 令和7年度（2025年度）; a stored year
    outside that span is kept as a choice."""
    this_year = fiscal_year(date.today())
    years = set(range(FIRST_FISCAL_YEAR, this_year + 2)) | ({current} if current else set())
    return [(fy, f"{wareki_year_label(fy)}（{fy}年度）") for fy in sorted(years, reverse=True)]


class FiscalYearField(SelectField):
    """年度 chosen by its 和暦 name, stored as the western year of its April."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("choices", None)
        kwargs["coerce"] = int
        kwargs.setdefault("default", lambda: fiscal_year(date.today()))
        super().__init__(label, validators, choices=fiscal_year_choices, **kwargs)

    def process(self, formdata, data=None, extra_filters=None):
        """The stored year stays a choice; a posted one does not become one (１２３ posted was
        offered back as 123年度, whose 和暦 label does not exist: a 500, found by fuzzing)."""
        super().process(formdata, data, extra_filters)
        if isinstance(self.object_data, int):
            self.choices = fiscal_year_choices(self.object_data)
