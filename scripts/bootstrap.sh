#!/usr/bin/env bash
# Shared set-up for the README's two commands: a local virtualenv with the project installed
# (and its test and bench extras) at the exact versions CI tested (constraints.txt; ranges stay in
# pyproject.toml), then the compiled Japanese catalogs. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt)
"${PIP[@]}" --upgrade pip
# bench: locust for bench/load.py (twenty people at once on gunicorn).
"${PIP[@]}" -e ".[test,bench]"
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
# 様式1/2/3 as PDF: WeasyPrint needs Pango (and HarfBuzz's subsetter); the forms print in Debian's
# IPAex fonts (Noto CJK made each PDF about 20x slower when measured). pdftotext (poppler-utils)
# reads the PDFs back in the tests. Installed when missing and we may; otherwise the PDF tests
# report themselves skipped.
PDF_PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont poppler-utils"
missing=""
for package in $PDF_PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $package"
done
if [ -n "$missing" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "PDF 出力用のフォントとライブラリをインストールします（$missing）…"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) \
    >/dev/null 2>&1 || echo "PDF 用のパッケージをインストールできませんでした。PDF のテストはスキップされます。"
fi
# LibreOffice (headless Calc) opens every exported .xlsx in the tests, as a person's spreadsheet
# program would.
if ! command -v soffice >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "LibreOffice Calc をインストールします（Excel ファイルのテスト用）…"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libreoffice-calc-nogui) >/dev/null 2>&1 \
    || echo "LibreOffice をインストールできませんでした。そのテストはスキップされます。"
fi
