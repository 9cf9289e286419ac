"""Accounts and edits in a real Chromium: the approval of a new account, the first password
change, two browsers saving one case, and bulk actions that carry each row's version."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from kyogikai.models import ApprovalReason, Role, SupportRecord, User, db
from kyogikai.models.base import utcnow
from kyogikai.policy.authentication import hash_password
from tests.e2e.conftest import EXPECT_TIMEOUT_MS, log_in, navigate

pytestmark = pytest.mark.e2e

TEMPORARY = "仮パスワード 夕焼けの港町"
CHOSEN = "港の灯台と 三毛猫の昼寝"


def _rows(page):
    return page.locator("table.model-list tbody tr")


def _bulk(page, action_name):
    page.locator("input.action-checkbox").first.check()
    page.get_by_role("button", name="選択したものを").click()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator(".dropdown-menu.show").get_by_role("link", name=action_name).click()


def test_a_bulk_delete_sends_the_rows_version(page, app, sample):
    log_in(page, "coordinator")
    page.goto("/admin/support_record/")
    expect(_rows(page)).to_have_count(1)
    _bulk(page, "削除")
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("table.model-list tbody")).not_to_contain_text("面接")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportRecord)) == 0


def test_a_bulk_delete_on_a_row_saved_meanwhile_is_refused(page, app, sample):
    log_in(page, "coordinator")
    page.goto("/admin/support_record/")
    with app.app_context():  # the clerk saves the record while the list is on screen
        clerk = db.session.scalar(sa.select(User).where(User.login == "test-clerk"))
        record = db.session.get(SupportRecord, sample["support_record"])
        record.content, record.updated_by_id = "直前の追記", clerk.id
        db.session.commit()
    _bulk(page, "削除")
    expect(page.locator(".alert-danger")).to_contain_text("何も変更していません")
    expect(page.locator(".alert-danger")).to_contain_text("事務担当テスト（事務担当）")
    expect(_rows(page)).to_have_count(1)


def test_two_browsers_save_the_same_case(page, browser, live_server, sample):
    url = f"/admin/case/edit/?id={sample['case']}"
    log_in(page, "coordinator")
    page.goto(url)
    other = browser.new_context(base_url=live_server, locale="ja-JP", timezone_id="Asia/Tokyo")
    try:
        second = other.new_page()
        second.set_default_timeout(EXPECT_TIMEOUT_MS)
        log_in(second, "clerk")
        second.goto(url)
        second.get_by_label("備考").fill("事務担当が先に保存")
        navigate(second, second.get_by_role("button", name="保存", exact=True))
        expect(second.locator(".alert-success")).to_be_visible()
    finally:
        other.close()
    page.get_by_label("備考").fill("調整担当者の追記")
    navigate(page, page.get_by_role("button", name="保存", exact=True))
    expect(page.locator(".alert-danger").first).to_contain_text("この画面を開いた後に")
    expect(page.locator(".alert-danger").first).to_contain_text("事務担当テスト（事務担当）")
    expect(page.get_by_label("備考")).to_have_value("調整担当者の追記")


def test_a_new_account_is_approved_then_chooses_its_password(page, app, sample):
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.login == "test-admin"))
        db.session.add(User(login="new-clerk", display_name="新任 事務", role=Role.clerk,
                            agency_id=1, password_hash=hash_password(TEMPORARY), active=True,
                            must_change_password=True, approval_pending=ApprovalReason.created,
                            approval_requested_by_id=admin.id, approval_requested_at=utcnow()))
        db.session.commit()
    page.goto("/login")
    page.get_by_label("ログインID").fill("new-clerk")
    page.get_by_label("パスワード").fill(TEMPORARY)
    navigate(page, page.get_by_role("button", name="ログイン"))
    expect(page.get_by_role("alert")).to_contain_text("調整担当者の承認待ちです")

    log_in(page, "coordinator")
    page.goto("/admin/account_approval/")
    row = page.locator("tr").filter(has_text="new-clerk")
    expect(row).to_contain_text("システム管理者テスト")
    navigate(page, row.get_by_role("button", name="承認", exact=True))
    expect(page.locator(".alert-success")).to_contain_text("new-clerk")
    navigate(page, page.locator(".navbar").get_by_role("button", name="ログアウト"))

    page.get_by_label("ログインID").fill("new-clerk")
    page.get_by_label("パスワード").fill(TEMPORARY)
    navigate(page, page.get_by_role("button", name="ログイン"))
    expect(page).to_have_url(re.compile(r"/admin/own_account/$"))
    page.get_by_label("現在のパスワード", exact=True).fill(TEMPORARY)
    page.get_by_label("新しいパスワード", exact=True).fill(CHOSEN)
    page.get_by_label("新しいパスワード（確認）").fill(CHOSEN)
    navigate(page, page.get_by_role("button", name="パスワードを変更"))
    expect(page.locator(".alert-success")).to_contain_text("パスワードを変更しました")
    page.goto("/admin/case/")
    expect(page).to_have_url(re.compile(r"/admin/case/$"))
