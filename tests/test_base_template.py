"""Our layout is Flask-Admin's installed base template plus block overrides, not a copy."""

import re
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment

from kyogikai.admin_views import base_template
from tests.conftest import ROLES

OURS = Path(base_template.__file__).parent.parent / "templates/admin/ja_base.html"


def test_our_layout_holds_no_copy_of_upstream_markup():
    text = OURS.read_text(encoding="utf-8")
    assert "{% extends 'admin/flask_admin_base_ja.html' %}" in text
    for upstream_only in ("<html", "<head", "<nav", "vendor/jquery", "navbar-toggler"):
        assert upstream_only not in text


def test_pages_get_upstream_markup_with_our_blocks(login_as):
    body = login_as("clerk").get("/admin/").get_data(as_text=True)
    assert body.count('<html lang="ja">') == 1
    assert 'aria-label="メニューの表示切替"' in body and "Toggle navigation" not in body
    assert "秘 取扱注意" in body  # our banner, in the messages block
    assert "/static/css/app.css" in body and "/static/js/ja.js" in body
    assert "vendor/jquery.min.js" in body  # upstream's scripts kept by super()
    assert "ログアウト" in body  # our user menu


def test_an_upstream_change_at_a_patched_spot_stops_start_up(monkeypatch):
    loader = base_template.PatchedUpstreamLoader("bootstrap4")
    source = loader.upstream.get_source(Environment(), base_template.UPSTREAM)[0]
    monkeypatch.setattr(loader, "upstream", DictLoader(
        {base_template.UPSTREAM: source.replace("<html>", '<html class="x">')}))
    with pytest.raises(base_template.UpstreamPatchError, match="exactly once"):
        loader.get_source(Environment(), base_template.PATCHED)


MENU_RE = re.compile(r'<ul class="nav navbar-nav mr-auto">(.*?)</ul>\s*<ul class="nav navbar-nav navbar-right">', re.S)


def _menu(client, url: str) -> str | None:
    response = client.get(url)
    return MENU_RE.search(response.get_data(as_text=True)).group(1) \
        if response.status_code == 200 else None


@pytest.mark.parametrize("url", ["/admin/", "/admin/case/", "/admin/woman/"])
def test_the_kept_menu_is_the_one_flask_admin_draws_for_each_role(app, login_as, url):
    """role_menu keeps Flask-Admin's menu per role and screen: after every role has filled
    the cache, each role's menu is still exactly what the macro draws for her afresh."""
    clients = {role: login_as(role) for role in ROLES}
    kept = {role: _menu(client, url) for role, client in clients.items()}
    kept = {role: menu for role, menu in kept.items() if menu is not None}  # a 403 has none
    assert len(set(kept.values())) > 1  # the roles see different menus
    for role in kept:
        client = clients[role]
        app.extensions["kyogikai.role_menus"].clear()
        assert _menu(client, url) == kept[role], role
        assert re.search(r'class="[^"]*\bactive\b', kept[role]) or url == "/admin/", role
