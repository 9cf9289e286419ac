"""Nothing a user sees is English: the catalogs are complete and are the ones loaded."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from kyogikai.models import LabeledEnum

ROOT = Path(__file__).resolve().parent.parent
LC = ROOT / "kyogikai" / "translations" / "ja" / "LC_MESSAGES"


@pytest.mark.parametrize("domain", ["admin", "wtforms"])
def test_vendor_catalogs_cover_every_msgid_of_the_installed_library(domain):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "extract_vendor_msgids.py"), domain,
         "--output", "/dev/null", "--check", str(LC / f"{domain}.po")],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 problem" in result.stdout


@pytest.mark.parametrize("domain", ["admin", "wtforms"])
def test_compiled_catalogs_match_their_sources(domain):
    with open(LC / f"{domain}.po", "rb") as po, open(LC / f"{domain}.mo", "rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in source if m.id and m.string}
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in compiled if m.id}
    assert wanted <= have, "run: bash scripts/i18n.sh compile"


def test_flask_admin_strings_render_in_japanese(app):
    import flask_admin.babel as fab

    with app.test_request_context():
        assert fab.gettext("Failed to create record.") == "レコードの作成に失敗しました。"
        assert fab.gettext("Record was successfully created.") != "Record was successfully created."
        assert fab.gettext("Save") == "保存"


def test_every_enum_member_has_a_japanese_label():
    for enum_cls in LabeledEnum.all_subclasses():
        for member in enum_cls:
            label = str(member.label)
            assert label and label != member.value, (enum_cls.__name__, member.value)
            assert not any("a" <= ch.lower() <= "z" for ch in label), label


def test_every_model_has_a_japanese_str(sample, app):
    from kyogikai.models import db

    with app.app_context():
        for mapper in db.Model.registry.mappers:
            row = db.session.query(mapper.class_).first()
            if row is None:
                continue
            text = str(row)
            assert "<" not in text and "object at" not in text, (mapper.class_.__name__, text)
