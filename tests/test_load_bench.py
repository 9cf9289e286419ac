"""bench/load.py still works end to end: a few seconds of three people on gunicorn.

The figures themselves are measured in bench/ (bench/README.md), never asserted here: this only
checks that every simulated task still does what a person does and is accepted (a sign-in, the
pages with their rows, a save that lands in the database, a real xlsx), so the load run cannot
rot silently when a screen changes. ~20 s, PostgreSQL only, like tests/test_gunicorn.py.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="the load run serves the panel with gunicorn "
                                "on PostgreSQL: set TEST_DATABASE_URL (.ci/run does)")

LOAD = Path(__file__).resolve().parent.parent / "bench" / "load.py"


def test_every_task_of_the_load_run_is_accepted():
    done = subprocess.run(
        [sys.executable, str(LOAD), "--database-url", PG_URL, "--cases", "200", "--users", "3",
         "--run-time", "6s", "--smoke"],
        capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["overall"]["failures"] == 0, result["failure_messages"]
    done_tasks = {name for name, figures in result["by_type"].items() if figures["requests"]}
    assert {"coordinator login", "coordinator ledger", "coordinator case_page",
            "coordinator edit_form",
            "coordinator save", "coordinator export_form1", "staff login", "staff ledger",
            "staff case_page"} <= done_tasks, done_tasks
    assert {"search_kanji", "search_kana", "search_number"} <= {
        name.split()[1] for name in done_tasks}
    assert result["cases_saved_in_database"] >= 1
    assert result["meta"]["agency_staff"] == 1 and result["meta"]["coordinators"] == 2
