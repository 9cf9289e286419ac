"""CSV exports from the lists: formula cells neutralised, numbers kept, Japanese file names."""

import csv
import io
from urllib.parse import unquote

from kyogikai.models import BusinessPlan, Woman, db

FORMULAS = {"name": "@SUM(A1:A9)", "alias": '=HYPERLINK("http://example.invalid","開く")',
            "phone": "+1-2", "street": "-2+3"}


def _rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_formula_cells_are_neutralised(app, login_as, sample):
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        for name, value in FORMULAS.items():
            setattr(woman, name, value)
        db.session.commit()
    rows = _rows(login_as("coordinator").get("/admin/woman/export/csv/"))
    cells = [cell for row in rows[1:] for cell in row]
    for value in FORMULAS.values():
        assert not any(cell.startswith(value) for cell in cells), value
    assert "'" + FORMULAS["alias"] in cells
    assert "'+1-2" in cells
    assert any(cell.startswith("'@SUM") for cell in cells)
    # Every cell: nothing a spreadsheet would evaluate.
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_negative_numbers_stay_numbers(app, login_as, sample):
    with app.app_context():
        db.session.get(BusinessPlan, sample["business_plan"]).expected_women = -3
        db.session.commit()
    rows = _rows(login_as("coordinator").get("/admin/business_plan/export/csv/"))
    assert "-3" in rows[1]


def test_file_name_is_japanese_with_the_date(login_as, sample):
    response = login_as("coordinator").get("/admin/case/export/csv/")
    header = response.headers["Content-Disposition"]
    assert header.isascii() and header.startswith("attachment;")
    name = unquote(header.split("filename*=UTF-8''", 1)[1])
    assert name.startswith("ケース進行管理台帳_") and name.endswith(".csv")
    assert len(name) == len("ケース進行管理台帳_20261128.csv")
