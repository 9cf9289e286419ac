#!/usr/bin/env bash
# Re-pin constraints.txt to exactly what .venv holds (the versions the suite just passed with).
# Run after changing a dependency range in pyproject.toml and a green `bash scripts/test.sh`;
# tests/test_packaging.py fails while the pins and the ranges or the venv disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Exact versions CI tested; scripts/bootstrap.sh installs with them (pip -c)."
  echo "# Ranges live in pyproject.toml. Regenerate with: bash scripts/lock.sh"
  .venv/bin/python -m pip freeze --all --exclude-editable --disable-pip-version-check \
    | grep -v -i '^josei-shien-kyogikai' | LC_ALL=C sort -f -t= -k1,1
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages pinned"
