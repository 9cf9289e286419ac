"""Our layout is Flask-Admin's installed base template plus block overrides, not a copy."""

from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment

from kyogikai.admin_views import base_template

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
