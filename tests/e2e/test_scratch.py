from tests.e2e.conftest import log_in


def test_sweep(page, sample, watch):
    log_in(page, "coordinator")
    page.goto("/admin/case/")
    page.add_script_tag(url="/static/js/ja.js")
    page.get_by_role("link", name="条件を追加").click()
    page.locator(".field-filters").get_by_text("相談受理年月日（この日より後）", exact=True).click()
    page.locator("input.filter-val").click()
    print(page.locator(".daterangepicker").first.inner_text()[:100].replace("\n", " "))
    page.goto("/admin/woman/new/")
    page.get_by_role("button", name="追加 同伴家族").click()
    print(page.locator("#companions").inner_html()[:1500])
    page.locator("#companions .inline-field-list").get_by_text("氏名").click()
    print(page.evaluate("document.activeElement.id"))
