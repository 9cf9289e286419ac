#!/usr/bin/env bash
# Command 2 of the README: install the same way, lint, and run the whole test suite.
# TEST_DATABASE_URL=postgresql+psycopg://… runs the same suite against PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
