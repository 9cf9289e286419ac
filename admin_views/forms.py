"""The form base every screen uses: Flask-WTF CSRF plus our complete Japanese WTForms catalog."""

from functools import cache
from pathlib import Path

from babel import support
from flask_wtf import FlaskForm

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
    """Flask-Admin's form_base_class: CSRF-protected (with CSRFProtect), messages in Japanese."""

    class Meta:
        def get_translations(self, form):
            return _WTFormsJapanese()
