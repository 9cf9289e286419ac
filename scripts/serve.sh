#!/usr/bin/env bash
# Command 1 of the README: install, migrate the embedded SQLite database, load fictional demo data
# when it is empty, print one demo login per role, and serve the panel on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export FLASK_APP=kyogikai
# The demo signs in without an authenticator app; production keeps the default (coordinator).
export TOTP_REQUIRED_ROLES="${TOTP_REQUIRED_ROLES-}"
.venv/bin/flask db upgrade
if .venv/bin/flask demo-data >/tmp/demo-data.$$ 2>&1; then
  cat /tmp/demo-data.$$
else
  echo "既存のデータベースを使います（デモデータは投入しませんでした）。"
  if [ -f instance/demo-logins.txt ]; then
    echo "デモ用ログイン（役割ごとに1つ）:"
    sed 's/^/  /' instance/demo-logins.txt
  fi
fi
rm -f /tmp/demo-data.$$
echo "http://127.0.0.1:5000 で起動します（終了は Ctrl+C）。"
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
