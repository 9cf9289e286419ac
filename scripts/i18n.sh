#!/usr/bin/env bash
# The translation workflow: extract → update → compile (as in microblog), for our "messages"
# domain; the "admin" (Flask-Admin) and "wtforms" catalogs are maintained by hand and compiled.
#   bash scripts/i18n.sh extract   # scan the code and templates into translations/messages.pot
#   bash scripts/i18n.sh update    # merge the .pot into translations/ja/LC_MESSAGES/messages.po
#                                  # and the 2024 wording catalog (scripts/terminology.py)
#   bash scripts/i18n.sh compile   # build every .mo the app loads
#   bash scripts/i18n.sh all       # the three in order
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
DIR=kyogikai/translations

extract() {
  "$PYBABEL" extract -F babel.cfg -k _l -k _ -k _gettext -k '_ngettext:1,2' -k lazy_gettext \
    --no-location --sort-output --project "josei-shien-kyogikai" -o "$DIR/messages.pot" .
}

update() {
  if [ -f "$DIR/ja/LC_MESSAGES/messages.po" ]; then
    "$PYBABEL" update -i "$DIR/messages.pot" -d "$DIR" -l ja -D messages --no-fuzzy-matching
  else
    "$PYBABEL" init -i "$DIR/messages.pot" -d "$DIR" -l ja -D messages
  fi
  # The 2024 wording (TERMINOLOGY=2024): the messages that use a renamed term.
  "${PYTHON:-.venv/bin/python}" scripts/terminology.py update
}

compile() {
  for domain in messages admin wtforms; do
    "$PYBABEL" compile -d "$DIR" -l ja -D "$domain"
  done
  "$PYBABEL" compile -d "$DIR/terminology_2024" -l ja -D messages
}

case "${1:-all}" in
  extract) extract ;;
  update) update ;;
  compile) compile ;;
  all) extract; update; compile ;;
  *) echo "使い方: bash scripts/i18n.sh [extract|update|compile|all]" >&2; exit 2 ;;
esac
