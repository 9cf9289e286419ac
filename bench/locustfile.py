"""Twenty people at once (issue 13): what each simulated person does, for bench/load.py.

bench/load.py starts the panel under gunicorn on 127.0.0.1 and runs this file with locust,
headless, with a fixed user count and time limit; it hands over the accounts and the case count
in a plan file (``LOAD_PLAN``). Each person signs in once (CSRF token from the login page), then
picks a task after each pause (load.py's ``--wait``, 1–3 s by default):

* 調整担当者 (coordinators): ledger pages (paging, sort, filters read from the page), searches
  (佐藤, サトウ, a case-number prefix), case pages of rows she just saw, one save in six (the
  case's edit form posted back with its CSRF token and version) and one 様式1 export in thirty
  (the ledger's button, one month of cases); with the staff below that is one save in ten and one
  export in fifty of all tasks (``Coordinator.tasks``).
* 関係機関担当者 (agency staff, read only): the same reading tasks on her scoped ledger.

A response counts as a failure unless it is what a person would accept: the page with its rows,
a save that lands (302 away from the form), a real xlsx. Load goes to this machine only.
"""

import ipaddress
import itertools
import json
import os
import random
import re
import socket
import sys
import zipfile
from datetime import date
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from locust import HttpUser, between, events  # noqa: E402

from tests.browser_form import form_fields, with_changes  # noqa: E402

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
LEDGER = "/admin/case/"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FILTER_GROUPS_RE = re.compile(r'id="filter-groups-data"[^>]*>(.*?)</div>', re.S)
CASE_LINK_RE = re.compile(r'href="/admin/case_page/\?id=(\d+)"')
FORM1_RE = re.compile(r'<form[^>]*id="form1-export".*?</form>', re.S)
SORT_LABEL = "氏名（フリガナ）"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_this_machine(host: str) -> bool:
    """The base URL names a loopback address (127.0.0.0/8, ::1), or a name resolving only there."""
    name = urlsplit(host).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback
                                   for a in addresses)


@events.test_start.add_listener
def _only_this_machine(environment, **_kwargs):
    if not is_this_machine(environment.host or ""):
        environment.runner.quit()
        raise SystemExit(f"refusing to load {environment.host!r}: this machine's loopback only")


def last_fiscal_year(today: date) -> int:
    return (today.year if today.month >= 4 else today.year - 1) - 1


class Person(HttpUser):
    """One person at her desk: signs in, then reads (and, by role, saves and exports)."""

    abstract = True
    wait_time = between(PLAN["wait_min"], PLAN["wait_max"])
    role = ""
    numbering = itertools.count()  # each kind of person its own (below): her login and share

    def on_start(self):
        self.index = next(self.numbering)
        self.login = PLAN["logins"][self.role][self.index % len(PLAN["logins"][self.role])]
        self.rng = random.Random(f"{self.role}-{self.index}")
        self.saves = self.searches = 0
        self._sign_in()
        page = self._get(LEDGER, "ledger")
        groups = json.loads(FILTER_GROUPS_RE.search(page).group(1)) if page else {}
        self.filters = {label: ops[0]["arg"] for label, ops in groups.items()}
        sort = re.search(r'href="[^"]*[?&](?:amp;)?sort=(\d+)[^"]*"[^>]*>\s*'
                         + re.escape(SORT_LABEL), page or "")
        self.sort = sort.group(1) if sort else "1"
        self.seen = [int(i) for i in CASE_LINK_RE.findall(page or "")]
        if PLAN.get("every_task_first"):  # the smoke test: each task at least once
            for each in dict.fromkeys(self.tasks):
                for _ in range(3 if each is Person.search else 1):  # the three searches
                    each(self)

    def _sign_in(self):
        with self.client.get("/login", name=f"{self.role} login_page",
                             catch_response=True) as response:
            token = CSRF_RE.search(response.text or "")
            if response.status_code != 200 or not token:
                response.failure(f"login page: HTTP {response.status_code}, no CSRF token")
                return
        data = {"login": self.login, "password": PLAN["password"], "csrf_token": token.group(1)}
        with self.client.post("/login", name=f"{self.role} login", data=data,
                              allow_redirects=False, catch_response=True) as response:
            location = response.headers.get("Location", "")
            if response.status_code != 302 or "/login" in location:
                response.failure(f"login refused: HTTP {response.status_code} → {location}")

    def _get(self, url: str, name: str, must: str = "") -> str | None:
        """A page a person reads: 200, in the panel (not the login page), and ``must`` on it."""
        with self.client.get(url, name=f"{self.role} {name}", allow_redirects=False,
                             catch_response=True) as response:
            text = response.text or ""
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif must not in text:
                response.failure(f"{must!r} not on the page")
            else:
                return text
        return None

    def _ledger_page(self, args: dict, name: str) -> None:
        # The ledger itself (its filter bar), rows or not: a search may match none in a scope.
        page = self._get(f"{LEDGER}?{urlencode({**args, 'page_size': 50})}", name,
                         must='id="filter-groups-data"')
        if page:
            self.seen = [int(i) for i in CASE_LINK_RE.findall(page)] or self.seen

    def ledger(self):
        fy = last_fiscal_year(date.today())
        choice = self.rng.randrange(6)
        if choice == 0:
            self._ledger_page({}, "ledger")
        elif choice == 1:
            self._ledger_page({"sort": self.sort}, "ledger_sort")
        elif choice == 2:
            pages = max(1, PLAN["visible_cases"][self.role] // 50)
            self._ledger_page({"page": self.rng.randrange(min(pages, 40))}, "ledger_paging")
        elif choice == 3:
            self._ledger_page({f"flt1_{self.filters['状況']}": "supporting"}, "ledger_filter")
        elif choice == 4:
            self._ledger_page({f"flt1_{self.filters['年度']}": fy}, "ledger_filter")
        else:
            self._ledger_page({f"flt1_{self.filters['フォロー期限超過']}": 1}, "ledger_filter")

    def search(self):
        """The three in turn: a common surname, its reading, a case-number prefix (R7-00)."""
        self.searches += 1
        term, name = [("佐藤", "search_kanji"), ("サトウ", "search_kana"),
                      (f"R{last_fiscal_year(date.today()) - 2018}-00", "search_number")
                      ][(self.index + self.searches) % 3]
        self._ledger_page({"search": term}, name)

    def record(self):
        if self.seen:
            case_id = self.rng.choice(self.seen)
            self._get(f"/admin/case_page/?id={case_id}", "case_page", must="管理記録")


class Coordinator(Person):
    role = "coordinator"
    fixed_count = PLAN["users"]["coordinator"]
    numbering = itertools.count()

    def save(self):
        """Edit a case of this person's own share (no two people save the same case, so the
        optimistic lock never refuses one: that refusal has tests of its own)."""
        share = range(self.index % PLAN["users"]["coordinator"] + 1, PLAN["cases"] + 1,
                      PLAN["users"]["coordinator"])
        url = f"{LEDGER}edit/?id={self.rng.choice(share)}"
        page = self._get(url, "edit_form", must='name="version_token"')
        if page is None:
            return
        self.saves += 1
        data = with_changes(form_fields(page),
                            note=f"負荷試験（架空）{self.login} {self.saves} 回目の保存")
        with self.client.post(url, data=data, name=f"{self.role} save", allow_redirects=False,
                              catch_response=True) as response:
            location = response.headers.get("Location", "")
            if response.status_code != 302 or "/edit/" in location:
                response.failure(f"save not taken: HTTP {response.status_code}")

    def export(self):
        """様式1 (xlsx) of one month of cases, through the ledger's button as filtered."""
        fy = last_fiscal_year(date.today())
        page = self._get(f"{LEDGER}?" + urlencode({
            f"flt1_{self.filters['相談受理年月日（この日より後）']}": date(fy, 6, 30),
            f"flt2_{self.filters['相談受理年月日（この日より前）']}": date(fy, 8, 1)}),
            "ledger_filter", must='id="form1-export"')
        if page is None:
            return
        fields = form_fields(FORM1_RE.search(page).group(0), "form-inline")
        with self.client.get("/admin/case/form1/?" + urlencode([*fields, ("format", "xlsx")]),
                             name=f"{self.role} export_form1", catch_response=True) as response:
            if response.status_code != 200 or XLSX not in response.headers.get("Content-Type", ""):
                response.failure(f"not an xlsx: HTTP {response.status_code}")
                return
            try:
                with zipfile.ZipFile(BytesIO(response.content)) as book:
                    sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
            except zipfile.BadZipFile:
                sheets = []
            if not sheets:
                response.failure("the xlsx has no worksheet")


    # Tasks per 30. With 12 coordinators and 8 staff: saves 12/20 × 5/30 = 1/10 and exports
    # 12/20 × 1/30 = 1/50 of all tasks.
    tasks = {Person.ledger: 9, Person.search: 7, Person.record: 8, save: 5, export: 1}


class Staff(Person):
    role = "staff"
    fixed_count = PLAN["users"]["staff"]
    numbering = itertools.count()
    tasks = {Person.ledger: 11, Person.search: 9, Person.record: 10}
