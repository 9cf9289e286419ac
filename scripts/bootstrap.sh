#!/usr/bin/env bash
# Shared set-up for the README's two commands: a local virtualenv with the project installed
# (and its test extras) at the exact versions CI tested (constraints.txt; ranges stay in
# pyproject.toml), then the compiled Japanese catalogs. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt)
"${PIP[@]}" --upgrade pip
"${PIP[@]}" -e ".[test]"
bash scripts/i18n.sh compile >/dev/null 2>&1 || {
  echo "翻訳カタログのコンパイルに失敗しました: bash scripts/i18n.sh compile" >&2; exit 1; }
# The end-to-end tests drive a real Chromium from Debian's packages (Playwright's own browser
# download cannot reach a closed network). Installed when missing and we may; otherwise those
# tests report themselves skipped.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Chromium をインストールします（ブラウザーテスト用）…"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "Chromium をインストールできませんでした。ブラウザーテストはスキップされます。"
fi
