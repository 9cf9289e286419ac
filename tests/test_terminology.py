"""TERMINOLOGY=2021|2024: the 2024 law's terms on every screen through a catalog, not code."""

import importlib.util
from pathlib import Path

import pytest

from kyogikai.admin_views.registry import VIEWS
from kyogikai.app import create_app
from kyogikai.japanese.terminology import RENAMED_2024
from kyogikai.models import db
from kyogikai.policy.matrix import CREATE, LIST, MATRIX
from tests.conftest import AuthActions, _create_app

pytestmark = pytest.mark.real_commits  # on PostgreSQL: the 2024 app reads the test's data

OLD, NEW = tuple(RENAMED_2024), tuple(RENAMED_2024.values())


def _script():
    path = Path(__file__).resolve().parent.parent / "scripts" / "terminology.py"
    spec = importlib.util.spec_from_file_location("terminology_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_with_a_renamed_term_has_its_2024_wording():
    script = _script()
    assert len(script.wanted_ids()) >= 10
    assert script.problems() == []


@pytest.fixture
def app_2024(app, tmp_path):
    own = _create_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance-2024",
                      TERMINOLOGY="2024")
    yield own
    with own.app_context():
        db.session.remove()
        db.engine.dispose()


def _client(app, role="coordinator"):
    client = app.test_client()
    AuthActions(client).login_as(role)
    return client


def _pages(role: str):
    for _view, resource, _group in VIEWS:  # the generated screens
        grants = MATRIX[resource]
        if LIST in grants.get(role, ()):
            yield f"/admin/{resource}/"
        if CREATE in grants.get(role, ()):
            yield f"/admin/{resource}/new/"


def _get(client, url) -> str:
    response = client.get(url)
    return response.get_data(as_text=True) if response.status_code == 200 else ""


def test_each_2024_term_shows_when_the_setting_is_on(app_2024):
    client = _client(app_2024)
    agency_form = _get(client, "/admin/agency/")
    admin_form = _get(_client(app_2024, "admin"), "/admin/agency/new/")
    home = _get(client, "/admin/")
    woman_form = _get(client, "/admin/woman/new/")
    assert "女性相談支援センター" in admin_form and "女性相談支援センター" in woman_form
    assert "女性自立支援施設" in admin_form
    assert "女性相談支援員" in admin_form
    assert "支援調整会議" in home and "支援調整会議" in _get(client, "/admin/council/")
    assert agency_form


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_no_screen_label_keeps_a_2021_term_when_the_setting_is_on(app_2024, role):
    """With the baseline data only (no data holds these words), nothing on these pages may."""
    client = _client(app_2024, role)
    found = {}
    for url in ["/admin/", *_pages(role)]:
        body = _get(client, url)
        assert body, url
        hits = [term for term in OLD if term in body]
        if hits:
            found[url] = hits
    assert found == {}


def test_the_default_is_the_youkou_wording(app):
    client = _client(app, "admin")
    body = _get(client, "/admin/agency/new/")
    assert "婦人相談所" in body and "婦人保護施設" in body and "婦人相談員" in body
    assert not any(term in body for term in NEW)


def test_an_unknown_setting_stops_the_start(tmp_path):
    with pytest.raises(ValueError, match="TERMINOLOGY は 2021 か 2024"):
        create_app({"TERMINOLOGY": "2023", "SECRET_KEY": "x",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                    "INSTANCE_PATH": str(tmp_path / "instance")})


def test_the_forms_keep_the_youkou_headings_when_the_setting_is_on(app_2024, sample):
    """様式2 as the 要綱 prints it, whatever the screens say (xlsx and PDF)."""
    from kyogikai.exports import pdf
    from tests.test_official_forms import pdf_text, sheet_rows, workbook

    client = _client(app_2024)
    screen = _get(client, f"/admin/business_plan/edit/?id={sample['business_plan']}")
    assert "支援調整会議の構成員" in screen and "地域協議会の構成員" not in screen
    response = client.get("/admin/forms/form2/?fiscal_year=2025&format=xlsx")
    cells = [c for row in sheet_rows(workbook(response.data).active) for c in row if c]
    assert "地域協議会の構成員、取組内容" in cells
    assert not any("支援調整会議" in str(cell) for cell in cells)
    if pdf.available():
        text = pdf_text(client.get("/admin/forms/form2/?fiscal_year=2025&format=pdf").data)
        assert "地域協議会の構成員、取組内容" in text and "支援調整会議" not in text
