from pathlib import Path

from tests.e2e.conftest import log_in


def dump(page, name):
    Path(f"/tmp/e2e/{name}.html").write_text(page.content())
    Path(f"/tmp/e2e/{name}.txt").write_text(page.inner_text("body"))


def test_dump(page, sample, watch):
    log_in(page, "coordinator")
    page.goto("/admin/case/")
    page.get_by_role("link", name="条件を追加").click()
    page.locator(".field-filters").get_by_text("状況", exact=True).click()
    page.wait_for_timeout(500)
    dump(page, "filter")
    page.screenshot(path="/tmp/e2e/filter.png")
    page.goto("/admin/case/new/")
    page.locator("#s2id_woman").click()
    page.wait_for_timeout(300)
    page.keyboard.type("zzz")
    page.wait_for_timeout(1000)
    dump(page, "picker")
    page.screenshot(path="/tmp/e2e/picker.png")
    print(watch.__dict__)
