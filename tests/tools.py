"""Tests that need an outside program (Chromium, LibreOffice, WeasyPrint's fonts, pdftotext).

On a developer's machine a missing program skips its tests; under `.ci/run`
(KYOGIKAI_REQUIRE_TOOLS=1, after scripts/bootstrap.sh installed them) it fails them, so CI
never goes green on tests that did not run.
"""

import os

import pytest


def tools_required() -> bool:
    return os.environ.get("KYOGIKAI_REQUIRE_TOOLS") == "1"


def missing_tool(reason: str):
    """Skip, or fail under CI, for a program the test cannot run without."""
    if tools_required():
        pytest.fail(f"{reason} (KYOGIKAI_REQUIRE_TOOLS=1)", pytrace=False)
    pytest.skip(reason)


def needs(available: bool, reason: str):
    """A skipif marker that CI turns into a requirement."""
    return pytest.mark.skipif(not available and not tools_required(), reason=reason)
