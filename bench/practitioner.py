"""実務者会議 benchmark: every open case reviewed on one screen, against paging through forms.

    python bench/practitioner.py                    # 200 open cases (issue 10's figure)
    python bench/practitioner.py --cases 200 --check
    python bench/practitioner.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Every number is a full request through the real app (Flask's test client, after a real login
as 事務担当), measured in the same run as its baseline, so budgets are ratios
(bench/targets.toml, [practitioner]):

- ``screen_get``: the review screen with every open case (one row each: last 管理記録, current
  主担当機関, inputs). Its statement count must not grow with the cases: it is measured at a
  quarter of the cases too (``screen_get_quarter``), and the two counts must be equal.
- ``screen_save``: one POST recording a 管理記録 for every case (all changed), in one
  transaction; the page is opened first (untimed) as a person would, for the rows' tokens.
- ``forms_baseline``: the same work the old way — for each case, open the generic 管理記録
  form and save it (two requests per case), as a clerk paging through N forms would.
- memory: the peak Python allocation (tracemalloc) of one screen GET at N cases over the one at
  N/4 (linear growth is ~4; anything quadratic is far above).
"""

import argparse
import json
import re
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import sqlalchemy as sa  # noqa: E402

from bench.run import (  # noqa: E402
    CSRF_RE,
    FAST_ARGON2,
    NO_SECOND_FACTOR,
    OUT_DIR,
    Database,
    StatementLog,
    _load,
    load_targets,
    summarise,
    timed,
)
from kyogikai.app import create_app  # noqa: E402
from kyogikai.models import (  # noqa: E402
    Agency,
    AgencyCategory,
    Case,
    CaseReview,
    CaseStatus,
    Level,
    Meeting,
    MeetingKind,
    Role,
    User,
    Woman,
    db,
)
from kyogikai.policy.authentication import hash_password  # noqa: E402

LOGIN, PASSWORD = "bench-clerk", "bench password, fictional data only"
ROW_RE = re.compile(r'name="(r-\d+-seen)" value="([^"]*)"')
SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["美咲", "陽子", "恵", "彩", "千尋", "麻衣", "優子", "香織"]


def seed(n_cases: int) -> dict:
    """N open cases, each with one earlier 管理記録, among 15 agencies; fictional names."""
    agencies = [Agency(name=f"ベンチ機関{i:02d}（架空）", category=AgencyCategory.other)
                for i in range(15)]
    db.session.add_all(agencies)
    db.session.add(User(login=LOGIN, display_name="ベンチ 事務担当", role=Role.clerk,
                        password_hash=hash_password(PASSWORD), active=True, agency=agencies[0]))
    db.session.flush()
    start = date(2025, 4, 1)
    for i in range(n_cases):
        woman = Woman(name=f"{SURNAMES[i % 10]} {GIVEN[i % 8]}", furigana="ベンチ　テスト",
                      birth_date=date(1980 + i % 25, 1 + i % 12, 1 + i % 28))
        case = Case(woman=woman, received_on=start + timedelta(days=i % 300),
                    status=CaseStatus.supporting, lead_agency=agencies[i % 15],
                    risk_level=Level.medium, urgency=Level.low)
        db.session.add_all([woman, case])
        db.session.add(CaseReview(case=case, reviewed_on=date(2026, 4, 10), lead_agency=agencies[i % 15],
                                  situation="前回の状況（架空）", risk_level=Level.medium,
                                  urgency=Level.low))
    db.session.commit()
    return {"cases": n_cases, "agencies": len(agencies)}


def new_meeting(app) -> int:
    with app.app_context():
        meeting = Meeting(kind=MeetingKind.practitioner, held_on=date(2026, 10, 10))
        db.session.add(meeting)
        db.session.commit()
        return meeting.id


def log_in(app):
    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"login": LOGIN, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def screen_form(page: str) -> dict:
    """What the browser sends back with every row changed (a 状況等 typed in each)."""
    data = {"csrf_token": CSRF_RE.search(page).group(1), "cases": []}
    for name, token in ROW_RE.findall(page):
        case_id = name.split("-")[1]
        data["cases"].append(case_id)
        data[name] = token
        data[f"r-{case_id}-situation"] = "状況を確認した（架空）"
        data[f"r-{case_id}-risk"] = "high"
    return data


def measure(app, n_cases: int, warmups: int, repeats: int, baseline_repeats: int) -> dict:
    client = log_in(app)
    with app.app_context():
        log = StatementLog(db.engine)
        case_ids = db.session.scalars(sa.select(Case.id).order_by(Case.id)).all()
    results = {}

    # The screen's GET at all N cases, its statement count and its peak memory.
    meeting_id = new_meeting(app)
    url = f"/admin/practitioner_review/?meeting={meeting_id}"

    def get():
        response = client.get(url)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    samples, page = timed(get, warmups, repeats)
    rows = len(ROW_RE.findall(page))
    assert rows == n_cases, (rows, n_cases)
    log.active, _ = True, log.reset()
    get()
    log.active = False
    statements = len(log.statements)
    tracemalloc.start()
    get()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results["screen_get"] = {**summarise(samples), "rows": rows, "statements": statements,
                             "peak_kib": round(peak / 1024)}

    # The same screen with a quarter of the cases open (the others closed for the moment).
    quarter = case_ids[: max(1, n_cases // 4)]
    with app.app_context():
        db.session.execute(sa.update(Case).where(Case.id.not_in(quarter))
                           .values(status=CaseStatus.closed, ended_on=date(2026, 9, 1),
                                   end_reason="（ベンチ）"))
        db.session.commit()
    samples, page = timed(get, warmups, repeats)
    log.active, _ = True, log.reset()
    get()
    log.active = False
    tracemalloc.start()
    get()
    quarter_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results["screen_get_quarter"] = {**summarise(samples), "rows": len(ROW_RE.findall(page)),
                                     "statements": len(log.statements),
                                     "peak_kib": round(quarter_peak / 1024)}
    with app.app_context():
        db.session.execute(sa.update(Case).values(status=CaseStatus.supporting, ended_on=None,
                                                  end_reason=""))
        db.session.commit()

    # One save of every case, each repeat on a fresh meeting (as each month's meeting is).
    save_samples = []
    for run in range(warmups + repeats):
        meeting_id = new_meeting(app)
        url = f"/admin/practitioner_review/?meeting={meeting_id}"
        data = screen_form(client.get(url).get_data(as_text=True))
        started = time.perf_counter()
        response = client.post(url, data=data)
        elapsed = time.perf_counter() - started
        assert response.status_code == 302, response.get_data(as_text=True)[-500:]
        if run >= warmups:
            save_samples.append(elapsed)
    with app.app_context():
        saved = db.session.scalar(sa.select(sa.func.count()).select_from(CaseReview).where(
            CaseReview.meeting_id == meeting_id))
    assert saved == n_cases, (saved, n_cases)
    results["screen_save"] = {**summarise(save_samples), "reviews": saved}

    # The baseline: the generic 管理記録 form, opened and saved once per case.
    def forms():
        meeting = new_meeting(app)
        for case_id in case_ids:
            form_url = f"/admin/case_review/new/?case={case_id}&url=/admin/case_review/"
            page = client.get(form_url).get_data(as_text=True)
            response = client.post(form_url, data={
                "csrf_token": CSRF_RE.search(page).group(1), "case": str(case_id),
                "meeting": str(meeting), "reviewed_on": "2026-10-10", "lead_agency": "1",
                "situation": "状況を確認した（架空）", "risk_level": "high", "urgency": "low",
                "support_policy": ""})
            assert response.status_code == 302, response.get_data(as_text=True)[-500:]

    samples, _ = timed(forms, 0, baseline_repeats)
    results["forms_baseline"] = {**summarise(samples), "requests": 2 * len(case_ids)}
    return results


RATIOS = {
    # name: (numerator, denominator, what it says)
    "save_vs_forms": ("screen_save", "forms_baseline",
                      "one save of every case / paging through one form per case"),
    "get_vs_forms": ("screen_get", "forms_baseline",
                     "opening the screen / paging through one form per case"),
}


def ratios(results: dict) -> dict:
    found = {name: round(results[a]["median_ms"] / results[b]["median_ms"], 4)
             for name, (a, b, _label) in RATIOS.items()}
    found["memory_growth"] = round(results["screen_get"]["peak_kib"]
                                   / max(1, results["screen_get_quarter"]["peak_kib"]), 2)
    found["statements_growth"] = (results["screen_get"]["statements"]
                                  - results["screen_get_quarter"]["statements"])
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--database-url", help="PostgreSQL URL; default: a fresh SQLite file")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmups", type=int, default=1)
    parser.add_argument("--baseline-repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "practitioner.json")
    parser.add_argument("--targets", type=Path, default=BENCH_DIR / "targets.toml")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a ratio is over its budget ([practitioner])")
    args = parser.parse_args(argv)

    database = Database(args.database_url, args.cases)
    if database.path is not None:
        database.path = OUT_DIR / f"practitioner-{args.cases}.sqlite3"
        database.url = f"sqlite:///{database.path}"
    database.create()
    load_before = _load()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "SECRET_KEY": "bench",
                          "INSTANCE_PATH": str(OUT_DIR / "instance"), **FAST_ARGON2,
                          **NO_SECOND_FACTOR})
        with app.app_context():
            db.metadata.create_all(db.engine)
            seeded = seed(args.cases)
        results = measure(app, args.cases, args.warmups, args.repeats, args.baseline_repeats)
        with app.app_context():
            db.engine.dispose()
    finally:
        database.drop(keep=False)
    found = ratios(results)
    report = {"database": database.kind, "seeded": seeded, "measures": results,
              "ratios": found, "load_average_before": load_before, "load_average_after": _load()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1))

    print(f"\n実務者会議 on {database.kind}, {args.cases} open cases "
          f"(load average before/after {load_before} / {report['load_average_after']})")
    print(f"{'measure':<20} {'median ms':>10} {'p95 ms':>9} {'stmts':>6} {'peak KiB':>9}")
    for name, row in results.items():
        print(f"{name:<20} {row['median_ms']:>10.1f} {row['p95_ms']:>9.1f} "
              f"{row.get('statements', ''):>6} {row.get('peak_kib', ''):>9}")
    targets = load_targets(args.targets, "practitioner")
    for name, value in found.items():
        label = RATIOS[name][2] if name in RATIOS else name
        print(f"{name:<20} {value:>10} (budget {targets.get(name, '—')}) {label}")
    print(f"results: {args.out}")
    if args.check:
        broken = [f"{name}: {found[name]} > {budget}" for name, budget in targets.items()
                  if found.get(name, float("inf")) > budget]
        if broken:
            print("BUDGETS BROKEN:\n  " + "\n  ".join(broken))
            return 1
        print(f"all {len(targets)} practitioner budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
