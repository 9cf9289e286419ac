"""Ledger (ケース進行管理台帳) benchmark: seed N cases, time what staff click, check budgets.

    python bench/run.py --cases 100000
    python bench/run.py --cases 100000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/run.py --cases 100000 --check      # exit 1 when a p95 budget is broken

SQLite runs on a fresh file under bench/out/; PostgreSQL runs in a fresh schema of the given
database, dropped at the end. Every ledger number is a full request through the real app
(login, policy, query, Jinja rendering) with Flask's test client; the "sql" numbers time single
statements on a bare connection. See bench/README.md for what each number means.
"""

import argparse
import gc
import json
import os
import platform
import re
import statistics
import sys
import time
import tomllib
import uuid
from datetime import date
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench import baselines  # noqa: E402
from bench.seed import RARE_NAME, case_with_history, seed  # noqa: E402
from kyogikai.admin_views.cases import CaseView  # noqa: E402
from kyogikai.app import create_app  # noqa: E402
from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_prefix  # noqa: E402
from kyogikai.models import Agency, AgencyCategory, Case, CaseStatus, Role, User, Woman, db  # noqa: E402
from kyogikai.models.cases import overdue_clause  # noqa: E402
from kyogikai.models.council import DEFAULT_REVIEW_INTERVAL_MONTHS  # noqa: E402
from kyogikai.models.women import name_matches  # noqa: E402
from kyogikai.policy.authentication import hash_password  # noqa: E402

OUT_DIR = BENCH_DIR / "out"
TARGETS = BENCH_DIR / "targets.toml"
LOGIN, PASSWORD = "bench-coordinator", "bench password, fictional data only"
# Cheap Argon2id as in tests/conftest.py: login cost is not what is measured here.
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024}
# The bench accounts sign in with a password only: a second factor is not what is measured.
NO_SECOND_FACTOR = {"TOTP_REQUIRED_ROLES": ""}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FILTER_GROUPS_RE = re.compile(r'id="filter-groups-data"[^>]*>(.*?)</div>', re.S)
ROW_MARK = 'name="rowid"'
CELL_MARK = '<td class="col-number">'  # one per row, with or without bulk actions
LEDGER = "/admin/case/"
SORT_LABEL = "氏名（フリガナ）"


# --------------------------------------------------------------------------- database set-up


class Database:
    """A throw-away database: a fresh SQLite file, or a fresh schema in a PostgreSQL database."""

    def __init__(self, url: str | None, n_cases: int):
        self.base_url, self.schema, self.path = url, None, None
        if url:
            self.kind = sa.engine.make_url(url).get_backend_name()
            if self.kind != "postgresql":
                raise SystemExit(f"--database-url: only PostgreSQL is supported, not {self.kind}")
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            joiner = "&" if "?" in url else "?"
            # public last: where pg_trgm lives (models/women.py, the name search's trigram index).
            self.url = f"{url}{joiner}options=-csearch_path%3D{self.schema},public"
        else:
            self.kind = "sqlite"
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            self.path = OUT_DIR / f"ledger-{n_cases}.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def create(self) -> None:
        if self.schema:
            engine = sa.create_engine(self.base_url)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            _create_pg_trgm(engine)
            engine.dispose()
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def drop(self, keep: bool) -> None:
        if keep:
            print(f"kept for inspection: {self.schema or self.path}"
                  + (f" (search_path: {self.url})" if self.schema else ""), file=sys.stderr)
        elif self.schema:
            engine = sa.create_engine(self.base_url)
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            engine.dispose()
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def _create_pg_trgm(engine) -> None:
    """pg_trgm in public, as the migration would have it (without it the search still works,
    unindexed: the run then measures that)."""
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError as error:
        print(f"pg_trgm not available, the name search runs unindexed: {error}", file=sys.stderr)


def baseline() -> None:
    """Like tests/conftest.py _baseline: the coordinator's home agency and her account."""
    home = Agency(name="ベンチ市 女性支援課（架空）", category=AgencyCategory.local_government,
                  member_from=date(2020, 4, 1))
    db.session.add(home)
    db.session.add(User(login=LOGIN, display_name="ベンチ 調整担当", role=Role.coordinator,
                        password_hash=hash_password(PASSWORD), active=True, agency=home))
    db.session.commit()


def build(app, n_cases: int, analyze: bool) -> dict:
    with app.app_context():
        db.metadata.create_all(db.engine)
        baseline()
        started = time.perf_counter()
        counts = seed(db.session, n_cases)
        counts["agency_staff"] = baselines.add_agency_staff(db.session, PASSWORD)
        counts["case_page_case"] = case_with_history(db.session,
                                                     counts["agency_staff"]["agency_id"])
        db.session.commit()
        seeded = time.perf_counter() - started
        if analyze and db.engine.dialect.name == "postgresql":
            # What autovacuum does soon after a bulk load: statistics, and the visibility map
            # that lets counts and sorts read an index alone. A 90-second seed is measured before
            # autovacuum has reached every table (a slower one was not), so do it here.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        elif analyze:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        return {"seconds": round(seeded, 2), "rows": counts, "analyzed": analyze}


# --------------------------------------------------------------------------- measuring


class StatementLog:
    """Counts and times every statement the engine sends while ``active``."""

    def __init__(self, engine):
        self.active = False
        self.statements: list[tuple[str, object]] = []
        self.sql_seconds = 0.0
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def reset(self) -> None:
        self.statements, self.sql_seconds = [], 0.0

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append((statement, parameters))
            self._started.append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and self._started:
            self.sql_seconds += time.perf_counter() - self._started.pop()


def summarise(samples: list[float]) -> dict:
    ordered = sorted(samples)
    # Interpolated between the two nearest samples (with 15 runs: 70% of the slowest + 30% of
    # the next), so one stray pause does not become the whole p95.
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18] if len(ordered) > 1 \
        else ordered[0]
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "min_ms": round(ordered[0] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def timed(fn, warmups: int, repeats: int) -> tuple[list[float], object]:
    result = None
    for _ in range(warmups):
        result = fn()
    samples = []
    for _ in range(repeats):
        # Each run starts with no garbage left by the previous one; collections the run itself
        # causes still count.
        gc.collect()
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return samples, result


def login(client, login_name: str = LOGIN) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post("/login", data={"login": login_name, "password": PASSWORD,
                                           "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"login failed: HTTP {response.status_code}")


def discover(client) -> tuple[dict, str]:
    """Filter args and the 氏名 sort index, read from the page as a person's browser would."""
    page = client.get(LEDGER).get_data(as_text=True)
    groups = json.loads(FILTER_GROUPS_RE.search(page).group(1))

    def arg(label: str, operation: int = 0) -> str:
        return groups[label][operation]["arg"]

    filters = {"status": arg("状況"), "year": arg("年度"),
               "after": arg("相談受理年月日（この日より後）"),
               "before": arg("相談受理年月日（この日より前）"),
               "overdue": arg("フォロー期限超過")}
    sort = re.search(r'href="[^"]*[?&](?:amp;)?sort=(\d+)[^"]*"[^>]*>\s*' + re.escape(SORT_LABEL),
                     page)
    return filters, sort.group(1) if sort else "1"


def ledger_requests(filters: dict, sort: str, today: date) -> list[dict]:
    """What staff do on the ledger, as URLs, with the rows each should match (for the report)."""
    last_fy = fiscal_year(today) - 1
    number_prefix = f"{fiscal_year_prefix(last_fy)}-00"
    range_from, range_to = date(last_fy, 7, 1), date(last_fy, 9, 30)

    def search(term: str):
        return CaseView.search_clause(None, term)

    return [
        {"key": "ledger_first_page", "label": "台帳 1ページ目（受理日の新しい順, 50件）",
         "url": f"{LEDGER}?page_size=50", "where": sa.true()},
        {"key": "ledger_sort_furigana", "label": f"台帳 {SORT_LABEL}順",
         "url": f"{LEDGER}?sort={sort}&page_size=50", "where": sa.true()},
        {"key": "ledger_page_size_100", "label": "台帳 1ページ目（100件表示: 文の数が増えないこと）",
         "url": f"{LEDGER}?page_size=100", "where": sa.true()},
        {"key": "ledger_page_100", "label": "台帳 100ページ目（OFFSET 4950）",
         "url": f"{LEDGER}?page=99&page_size=50", "where": sa.true(), "offset": 4950},
        {"key": "filter_status", "label": "絞り込み 状況=支援中",
         "url": f"{LEDGER}?flt1_{filters['status']}=supporting&page_size=50",
         "where": Case.status == CaseStatus.supporting},
        {"key": "filter_fiscal_year", "label": f"絞り込み 年度={last_fy}",
         "url": f"{LEDGER}?flt1_{filters['year']}={last_fy}&page_size=50",
         "where": Case.fiscal_year == last_fy},
        {"key": "filter_received_range",
         "label": f"絞り込み 受理日 {range_from}〜{range_to}",
         "url": (f"{LEDGER}?flt1_{filters['after']}={range_from}"
                 f"&flt2_{filters['before']}={range_to}&page_size=50"),
         "where": Case.received_on.between(range_from, range_to)},
        {"key": "filter_overdue", "label": "絞り込み フォロー期限超過（ホームの数字のリンク先）",
         "url": f"{LEDGER}?flt1_{filters['overdue']}=1&page_size=50",
         "where": overdue_clause(DEFAULT_REVIEW_INTERVAL_MONTHS, today)},
        {"key": "search_surname", "label": "検索 佐藤（漢字2字の姓）",
         "url": f"{LEDGER}?search=佐藤&page_size=50", "where": search("佐藤")},
        {"key": "search_katakana", "label": "検索 サトウ（カタカナ）",
         "url": f"{LEDGER}?search=サトウ&page_size=50", "where": search("サトウ")},
        {"key": "search_hiragana", "label": "検索 さとう（ひらがな）",
         "url": f"{LEDGER}?search=さとう&page_size=50", "where": search("さとう")},
        {"key": "search_rare_full_name", "label": f"検索 {RARE_NAME}（1件だけの氏名）",
         "url": f"{LEDGER}?search={RARE_NAME}&page_size=50", "where": search(RARE_NAME)},
        {"key": "search_number_prefix", "label": f"検索 {number_prefix}（番号の前方一致）",
         "url": f"{LEDGER}?search={number_prefix}&page_size=50",
         "where": search(number_prefix)},
    ]


def measure_ledger(app, client, log: StatementLog, spec: dict, warmups: int,
                   repeats: int) -> dict:
    def get():
        log.reset()
        log.active = True
        try:
            response = client.get(spec["url"])
        finally:
            log.active = False
        if response.status_code != 200:
            raise SystemExit(f"{spec['url']}: HTTP {response.status_code}")
        return response

    sql_samples = []

    def get_recording_sql():
        response = get()
        sql_samples.append(log.sql_seconds)
        return response

    samples, response = timed(get_recording_sql, warmups, repeats)
    page = response.get_data(as_text=True)
    with app.app_context():
        matches = db.session.scalar(sa.select(sa.func.count()).select_from(Case)
                                    .where(spec["where"]))
    page_size = int(re.search(r"page_size=(\d+)", spec["url"]).group(1))
    rows = page.count(ROW_MARK)
    return {
        "label": spec["label"], "url": spec["url"], **summarise(samples),
        "sql_median_ms": round(statistics.median(sql_samples[warmups:]) * 1000, 2),
        "statements": len(log.statements), "rows_on_page": rows, "matches": matches,
        # The page must show what the count promises, or the timing is of the wrong thing.
        "rows_as_expected": rows == min(page_size, max(0, matches - spec.get("offset", 0))),
        "_statements": list(log.statements),
    }


# The ledger against its two baselines (bench/baselines.py), the agency staff's scoped ledger,
# and the case page of a case with a long history (seed.case_with_history) as each of them sees
# it: (key, label, which client, URL, what marks one row of that page, rows expected).
CASE_PAGE = "/admin/case_page/?id={case}"
SIDE_BY_SIDE = (
    ("ledger_50", "台帳 1ページ目 50件（調整担当者）", "coordinator", f"{LEDGER}?page_size=50",
     CELL_MARK, 50),
    ("staff_ledger_50", "台帳 1ページ目 50件（関係機関担当者: 自機関のケースだけ）", "staff",
     f"{LEDGER}?page_size=50", CELL_MARK, 50),
    ("stock_50", "基準: 素の Flask-Admin ModelView（同じ50件・同じ列）", "coordinator",
     f"{baselines.STOCK}?page_size=50", CELL_MARK, 50),
    ("plain_50", "基準: 手書きの Jinja ページ（同じ50件・同じ列）", "coordinator",
     baselines.PLAIN, '<td><a href="/admin/case_page/', 50),
    ("stock_staff_50", "基準: 素の ModelView に関係機関担当者の範囲（彼女の50件・同じ列）",
     "coordinator", f"{baselines.STOCK_STAFF}?page_size=50", CELL_MARK, 50),
    ("plain_staff_50", "基準: 手書きの Jinja ページに関係機関担当者の範囲（彼女の50件）",
     "coordinator", baselines.PLAIN_STAFF, '<td><a href="/admin/case_page/', 50),
    ("case_page", "ケースのページ（管理記録20・役割分担10・会議5、調整担当者）", "coordinator",
     CASE_PAGE, '<tr data-review="', 20),
    ("staff_case_page", "ケースのページ（同じケース、関係機関担当者: 見てよい部分だけ）", "staff",
     CASE_PAGE, '<tr data-review="', 20),
)


def measure_side_by_side(clients: dict, log: StatementLog, warmups: int,
                         repeats: int, case_id: int) -> dict:
    """Each page once per round, in turn, so that whatever else the machine does falls on all
    of them alike: their ratios are what the budgets are on."""
    samples = {key: [] for key, *_ in SIDE_BY_SIDE}
    cpu = {key: [] for key, *_ in SIDE_BY_SIDE}
    sql = {key: [] for key, *_ in SIDE_BY_SIDE}
    last = {}
    for round_ in range(warmups + repeats):
        for key, _label, who, url, _mark, _rows in SIDE_BY_SIDE:
            url = url.format(case=case_id)
            gc.collect()
            log.reset()
            log.active = True
            started, started_cpu = time.perf_counter(), time.process_time()
            try:
                response = clients[who].get(url)
            finally:
                log.active = False
            elapsed = time.perf_counter() - started
            elapsed_cpu = time.process_time() - started_cpu
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
            if round_ >= warmups:
                samples[key].append(elapsed)
                cpu[key].append(elapsed_cpu)
                sql[key].append(log.sql_seconds)
            last[key] = (response.get_data(as_text=True), list(log.statements))
    results = {}
    for key, label, who, url, mark, expected in SIDE_BY_SIDE:
        url = url.format(case=case_id)
        page, statements = last[key]
        rows = page.count(mark)
        results[key] = {"label": label, "url": url, "user": who, **summarise(samples[key]),
                        # This process's own CPU time: what the ratios are checked on (another
                        # job on the machine moves wall times, hardly CPU times).
                        "cpu_median_ms": round(statistics.median(cpu[key]) * 1000, 2),
                        "sql_median_ms": round(statistics.median(sql[key]) * 1000, 2),
                        "statements": len(statements), "rows_on_page": rows, "matches": rows,
                        "rows_as_expected": rows == expected,
                        "sql_statements": [" ".join(s.split())[:300] for s, _ in statements]}
    return results


HOME = "/admin/"


def measure_home(client, log: StatementLog, warmups: int, repeats: int) -> dict:
    """The home page as a 調整担当者 opens it: every figure counted over the whole ledger."""
    sql_samples = []

    def get():
        log.reset()
        log.active = True
        try:
            response = client.get(HOME)
        finally:
            log.active = False
        if response.status_code != 200 or "data-figure-number" not in response.get_data(
                as_text=True):
            raise SystemExit(f"{HOME}: HTTP {response.status_code}")
        sql_samples.append(log.sql_seconds)
        return response

    samples, _response = timed(get, warmups, repeats)
    return {"label": "ホーム（数字: 状況別・フォロー期限超過・同意の更新・会議・確認待ち）",
            "url": HOME, **summarise(samples),
            "sql_median_ms": round(statistics.median(sql_samples[warmups:]) * 1000, 2),
            "statements": len(log.statements), "rows_on_page": 0, "matches": 0,
            "rows_as_expected": True, "_statements": list(log.statements)}


def raw_statements() -> list[dict]:
    """Building blocks on a bare connection: why the app queries the way it does."""
    cases, women = Case.__table__, Woman.__table__
    naive_name = sa.cast(women.c.name, sa.String)
    return [
        {"key": "sql_count_star", "label": "SELECT count(*) FROM cases（本アプリ）",
         "stmt": sa.select(sa.func.count()).select_from(cases)},
        {"key": "sql_count_bound", "label": "SELECT count(?) ['*'] FROM cases（Flask-Admin既定）",
         "stmt": sa.select(sa.func.count("*")).select_from(cases)},
        {"key": "sql_gram_sato", "label": "women: 氏名索引（gram）で 佐藤",
         "stmt": sa.select(women.c.id).where(name_matches(women.c.id, "佐藤"))},
        {"key": "sql_like_sato", "label": "women: CAST(name AS VARCHAR) LIKE '%佐藤%'",
         "stmt": sa.select(women.c.id).where(naive_name.like("%佐藤%"))},
        {"key": "sql_name_sato_kana", "label": "women: 氏名検索（name_matches）で サトウ",
         "stmt": sa.select(women.c.id).where(name_matches(women.c.id, "サトウ"))},
        {"key": "sql_gram_rare", "label": f"women: 氏名索引（gram）で {RARE_NAME.split()[0]}",
         "stmt": sa.select(women.c.id).where(name_matches(women.c.id, RARE_NAME.split()[0]))},
        {"key": "sql_like_rare",
         "label": f"women: CAST(name AS VARCHAR) LIKE '%{RARE_NAME.split()[0]}%'",
         "stmt": sa.select(women.c.id).where(naive_name.like(f"%{RARE_NAME.split()[0]}%"))},
        {"key": "sql_ilike_name_furigana_sato",
         "label": "women: Flask-Admin既定の検索 name/furigana ILIKE '%サトウ%'",
         "stmt": sa.select(women.c.id).where(sa.or_(
             naive_name.ilike("%サトウ%"),
             sa.cast(women.c.furigana, sa.String).ilike("%サトウ%")))},
    ]


def measure_raw(app, log: StatementLog, spec: dict, warmups: int, repeats: int) -> dict:
    with app.app_context(), db.engine.connect() as conn:
        samples, rows = timed(lambda: conn.execute(spec["stmt"]).all(), warmups, repeats)
        log.reset()
        log.active = True
        try:
            conn.execute(spec["stmt"]).all()
        finally:
            log.active = False
        (statement, parameters), = log.statements
        plan = explain(conn, statement, parameters)
    return {"label": spec["label"], **summarise(samples), "rows": len(rows),
            "sql": " ".join(statement.split()), "parameters": _jsonable(parameters),
            "plan": plan}


def explain(conn, statement: str, parameters) -> list[str]:
    """EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL), as lines."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        depth = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines
    rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
    return [row[0] for row in rows]


def ledger_plans(app, statements: list[tuple[str, object]]) -> list[dict]:
    """Plans of the list and count queries a ledger request sent (same SQL, same parameters)."""
    plans = []
    with app.app_context(), db.engine.connect() as conn:
        for statement, parameters in statements:
            head = statement.lstrip()[:400]
            if not head.upper().startswith("SELECT") or "FROM cases" not in statement:
                continue
            if re.match(r"\s*SELECT count\(", statement, re.I):
                kind = "count"
            elif re.search(r"\bLIMIT\b", statement):
                kind = "list"
            else:
                kind = "other"
            plans.append({"query": kind, "sql": " ".join(statement.split()),
                          "parameters": _jsonable(parameters),
                          "plan": explain(conn, statement, parameters)})
    return plans


def _jsonable(parameters):
    if isinstance(parameters, dict):
        return {k: str(v) for k, v in parameters.items()}
    return [str(v) for v in parameters or ()]


# --------------------------------------------------------------------------- report and check


def load_targets(path: Path, kind: str) -> dict:
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh).get(kind, {})


def ratio(measured: dict, key: str) -> float:
    """"a/b": the median of a over the median of b, measured in the same run; on CPU time when
    both pages have it (measured side by side), else on wall time."""
    top, bottom = (measured[part] for part in key.split("/", 1))
    field = "cpu_median_ms" if "cpu_median_ms" in top and "cpu_median_ms" in bottom \
        else "median_ms"
    return top[field] / max(bottom[field], 0.001)


def check(results: dict, targets: dict, ratios_only: bool = False) -> list[str]:
    """Absolute p95 budgets, and ratios ("a/b", see ``ratio``)."""
    broken = []
    measured = {**results["ledger"], **results["sql"]}
    for key, budget in targets.items():
        if "/" in key:
            if not all(part in measured for part in key.split("/", 1)):
                broken.append(f"{key}: in targets.toml but not measured")
                continue
            value = ratio(measured, key)
            if value > budget:
                broken.append(f"{key}: median ratio {value:.2f} > budget {budget}")
            continue
        if ratios_only:
            continue
        if key not in measured:
            broken.append(f"{key}: in targets.toml but not measured")
        elif measured[key]["p95_ms"] > budget:
            broken.append(f"{key}: p95 {measured[key]['p95_ms']:.1f} ms > budget {budget} ms "
                          f"({measured[key]['label']})")
    return broken


def print_table(results: dict, targets: dict) -> None:
    meta = results["meta"]
    print(f"\n{meta['database']} {meta['server_version']}  {meta['cases']:,} cases  "
          f"(seeded in {results['seed']['seconds']} s, {meta['repeats']} runs after "
          f"{meta['warmups']} warm-ups; load average before/after "
          f"{meta['load_average_before']} / {meta['load_average_after']} on {meta['cpus']} CPUs)")
    header = (f"{'measure':<30} {'median':>8} {'p95':>8} {'budget':>7} {'sql':>8} "
              f"{'stmts':>5} {'rows':>4} {'matches':>8}  label")
    print(header)
    print("-" * len(header))
    for key, r in results["ledger"].items():
        budget = targets.get(key, "")
        rows = f"{r['rows_on_page']}{'' if r['rows_as_expected'] else '!'}"
        print(f"{key:<30} {r['median_ms']:>8.1f} {r['p95_ms']:>8.1f} {budget:>7} "
              f"{r['sql_median_ms']:>8.1f} {r['statements']:>5} {rows:>4} "
              f"{r['matches']:>8}  {r['label']}")
    for key, r in results["sql"].items():
        budget = targets.get(key, "")
        print(f"{key:<30} {r['median_ms']:>8.1f} {r['p95_ms']:>8.1f} {budget:>7} "
              f"{'':>8} {'':>5} {'':>4} {r['rows']:>8}  {r['label']}")
    measured = {**results["ledger"], **results["sql"]}
    for key, budget in targets.items():
        if "/" in key and all(part in measured for part in key.split("/", 1)):
            top, bottom = key.split("/", 1)
            wall = measured[top]["median_ms"] / max(measured[bottom]["median_ms"], 0.001)
            print(f"{key:<45} median ratio {ratio(measured, key):>6.2f}  budget {budget}"
                  f"  (wall-time ratio {wall:.2f})")
    busy = meta["load_average_before"] and meta["cpus"] and \
        meta["load_average_before"][0] > 0.5 * meta["cpus"]
    if busy:
        print(f"NOTE: the machine was already busy (1-minute load average "
              f"{meta['load_average_before'][0]} on {meta['cpus']} CPUs before the run): other "
              f"work inflates medians and p95s; rerun on an idle machine before trusting them.")
    print("(ms. sql = median time spent in cursor.execute per request (row fetching excluded); "
          "stmts = statements per request; rows = rows on the page, ! when not what matches "
          "promises; matches = rows matching)")


def summary(results: dict, targets: dict) -> dict:
    """One object: each figure with its baseline and the ratio (same run), and the machine."""
    measured = {**results["ledger"], **results["sql"]}
    figures = {}
    for key, r in measured.items():
        figures[key] = {k: r[k] for k in ("median_ms", "p95_ms", "cpu_median_ms", "statements",
                                           "rows_on_page") if k in r}
    for key, budget in targets.items():
        if "/" in key and all(part in measured for part in key.split("/", 1)):
            top, bottom = key.split("/", 1)
            figures[top].setdefault("baselines", {})[bottom] = {
                "median_ms": measured[bottom]["median_ms"],
                "cpu_median_ms": measured[bottom].get("cpu_median_ms"),
                "ratio": round(ratio(measured, key), 3), "budget": budget}
    return {"meta": results["meta"], "figures": figures}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL; default: a fresh SQLite file")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "results.json")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--targets", type=Path, default=TARGETS)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a p95 is over its budget in targets.toml")
    parser.add_argument("--ratios-only", action="store_true",
                        help="with --check: check only the ratios (CI: they neither rot nor "
                             "flake on a busy machine; milliseconds do)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (each figure, its baseline, the ratio) "
                             "instead of the table")
    parser.add_argument("--analyze", action=argparse.BooleanOptionalAction, default=None,
                        help="run ANALYZE (VACUUM ANALYZE on PostgreSQL) after seeding "
                             "(default: on PostgreSQL only, as autovacuum would; the app never "
                             "runs it on SQLite)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the SQLite file / PostgreSQL schema to inspect afterwards")
    args = parser.parse_args(argv)

    database = Database(args.database_url, args.cases)
    analyze = args.analyze if args.analyze is not None else database.kind == "postgresql"
    database.create()
    try:
        results = run(database, args, analyze)
    finally:
        database.drop(args.keep)

    targets = load_targets(args.targets, database.kind)
    if args.json:
        print(json.dumps(summary(results, targets), ensure_ascii=False, indent=1))
    else:
        print_table(results, targets)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"results: {args.out}", file=sys.stderr)
    if args.check:
        broken = check(results, targets, args.ratios_only)
        if broken:
            print(f"\nBUDGET BROKEN ({database.kind}, {args.cases:,} cases, "
                  f"targets {args.targets}):", file=sys.stderr)
            for line in broken:
                print(f"  - {line}", file=sys.stderr)
            return 1
        print(f"all {len(targets)} budgets met ({database.kind})", file=sys.stderr)
    return 0


def run(database: Database, args, analyze: bool) -> dict:
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key",
        "SQLALCHEMY_DATABASE_URI": database.url,
        "INSTANCE_PATH": str(OUT_DIR / "instance"),
        **FAST_ARGON2, **NO_SECOND_FACTOR,
    })
    baselines.install(app)
    today = date.today()
    load_before = _load()
    print(f"seeding {args.cases:,} cases into {database.kind} ...", file=sys.stderr, flush=True)
    seeded = build(app, args.cases, analyze)
    print(f"seeded in {seeded['seconds']} s: {seeded['rows']}", file=sys.stderr, flush=True)

    with app.app_context():
        log = StatementLog(db.engine)
        server = db.session.execute(sa.text(
            "select sqlite_version()" if database.kind == "sqlite" else "show server_version"
        )).scalar()
    client = app.test_client()
    login(client)
    filters, sort = discover(client)
    staff = app.test_client()
    login(staff, baselines.STAFF_LOGIN)

    print("  ledger against its baselines ...", file=sys.stderr, flush=True)
    ledger = measure_side_by_side({"coordinator": client, "staff": staff}, log,
                                  args.warmups, max(args.repeats, 21),
                                  seeded["rows"]["case_page_case"])
    plans = {}
    with app.app_context():  # the name search's clause depends on the engine
        specs = ledger_requests(filters, sort, today)
        raw_specs = raw_statements()
    for spec in specs:
        print(f"  {spec['key']} ...", file=sys.stderr, flush=True)
        result = measure_ledger(app, client, log, spec, args.warmups, args.repeats)
        statements = result.pop("_statements")
        ledger[spec["key"]] = result
        plans[spec["key"]] = ledger_plans(app, statements)
        result["sql_statements"] = [" ".join(s.split())[:300] for s, _ in statements]

    print("  home_page ...", file=sys.stderr, flush=True)
    result = measure_home(client, log, args.warmups, args.repeats)
    statements = result.pop("_statements")
    ledger["home_page"] = result
    plans["home_page"] = ledger_plans(app, statements)
    result["sql_statements"] = [" ".join(s.split())[:300] for s, _ in statements]

    raw = {}
    for spec in raw_specs:
        print(f"  {spec['key']} ...", file=sys.stderr, flush=True)
        raw[spec["key"]] = measure_raw(app, log, spec, args.warmups, args.repeats)

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {
        "meta": {"database": database.kind, "server_version": server, "cases": args.cases,
                 "repeats": args.repeats, "warmups": args.warmups, "date": today.isoformat(),
                 "python": platform.python_version(), "machine": platform.machine(),
                 "cpus": _cpus(), "sqlalchemy": sa.__version__,
                 "load_average_before": load_before, "load_average_after": _load()},
        "seed": seeded, "ledger": ledger, "sql": raw, "plans": plans,
    }


def _cpus() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _load() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine shows up in the p95s."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


if __name__ == "__main__":
    sys.exit(main())
