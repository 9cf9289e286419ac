from tests.e2e.conftest import log_in


def test_dump(page, sample, watch):
    log_in(page, "coordinator")
    for name, url in [("home", "/admin/"), ("woman_new", "/admin/woman/new/"), ("ledger", "/admin/case/"),
                      ("case_new", "/admin/case/new/")]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        open(f"/tmp/e2e/{name}.html", "w").write(page.content())
        open(f"/tmp/e2e/{name}.txt", "w").write(page.inner_text("body"))
    print(watch.__dict__)
