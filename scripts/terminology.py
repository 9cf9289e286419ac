"""Keep the 2024 wording catalog in step with messages.pot.

    python scripts/terminology.py update   # after `i18n.sh extract`: add/remove entries
    python scripts/terminology.py check    # every message with a renamed term is translated

Every message of translations/messages.pot that uses a term the 2024 law renamed gets an entry
in translations/terminology_2024/ja/LC_MESSAGES/messages.po. A translation a person has edited
is kept; a new one is proposed by replacing the terms (review it in the diff). Only these
entries are in that catalog: merged over the main one when TERMINOLOGY=2024.
"""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from kyogikai.japanese.terminology import in_2024_terms, uses_old_terms

ROOT = Path(__file__).resolve().parent.parent / "kyogikai" / "translations"
POT = ROOT / "messages.pot"
PO = ROOT / "terminology_2024" / "ja" / "LC_MESSAGES" / "messages.po"


def _read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="ja")


def wanted_ids() -> list[str]:
    return [m.id for m in _read(POT) if m.id and isinstance(m.id, str) and uses_old_terms(m.id)]


def update() -> None:
    existing = _read(PO) if PO.exists() else Catalog(locale="ja")
    catalog = Catalog(locale="ja", project="josei-shien-kyogikai (2024 wording)", fuzzy=False)
    for msgid in wanted_ids():
        kept = existing.get(msgid)
        catalog.add(msgid, kept.string if kept is not None and kept.string else in_2024_terms(msgid))
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as fh:
        write_po(fh, catalog, sort_output=True, omit_header=False, width=100)


def problems() -> list[str]:
    catalog = _read(PO) if PO.exists() else Catalog(locale="ja")
    found = []
    for msgid in wanted_ids():
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            found.append(f"missing: {msgid}")
        elif uses_old_terms(entry.string):
            found.append(f"still in 2021 terms: {entry.string}")
    return found


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    sys.exit(1 if found else 0)
