#!/usr/bin/env bash
# Shared set-up for the README's two commands: a local virtualenv with the project installed
# (and its test extras), then the compiled Japanese catalogs. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
bash scripts/i18n.sh compile >/dev/null
