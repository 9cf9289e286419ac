"""A damaged .xlsx is refused with a Japanese sentence, never an exception: the importer's
opening (imports.workbook.open_workbook) under random damage to a real ledger's bytes.

Fuzzing it found four kinds of archive on which zipfile raises other than BadZipFile (a member
marked encrypted, an unknown compression method, offsets before the file's start, a broken
deflate stream); tests/test_import_ledger.py keeps each as a named case.
"""

import io
import re
import zipfile

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from kyogikai.imports.workbook import WorkbookRefused, open_workbook
from tests import ledger_files

JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龠]")
LEDGER = ledger_files._bytes(ledger_files.small_ledger())


@st.composite
def damaged(draw) -> bytes:
    """The ledger cut short, with bytes overwritten (anywhere, or in the end record and central
    directory where zipfile reads offsets), or with junk appended."""
    data = bytearray(LEDGER)
    how = draw(st.sampled_from(("cut", "overwrite", "directory", "append")))
    if how == "cut":
        return bytes(data[:draw(st.integers(0, len(data) - 1))])
    if how == "append":
        return bytes(data) + draw(st.binary(min_size=1, max_size=512))
    start = data.index(b"PK\x01\x02") if how == "directory" else 0
    for _ in range(draw(st.integers(1, 16))):
        data[draw(st.integers(start, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.parametrize("run", range(2))
def test_a_damaged_ledger_is_refused_in_japanese(app, run):
    """A fixed seed per run: the same 150 files each time (CI never flakes on a new find)."""
    @seed(run)
    @settings(max_examples=150, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(data=damaged())
    def opened_or_refused(data):
        try:
            open_workbook(data)
        except WorkbookRefused as refused:
            assert JAPANESE.search(str(refused)), str(refused)

    with app.test_request_context():
        opened_or_refused()


def test_the_fuzzed_ledger_is_an_archive_it_can_open(app):
    """The damage starts from a ledger the importer reads: a refusal is the damage's."""
    assert zipfile.is_zipfile(io.BytesIO(LEDGER))
    with app.test_request_context():
        assert open_workbook(LEDGER)[0].rows[1][1] == "青木 明美"
