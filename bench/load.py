"""Twenty people at once (issue 13): the real panel under gunicorn, loaded by locust.

    python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/load.py --database-url … --cases 100000 --run-time 3m --check

Seeds a fresh PostgreSQL schema (dropped afterwards; without --database-url a fresh SQLite file)
with bench/seed.py, migrated to the head revision as a deployment is, adds the bench accounts
(coordinators and agency staff, password only, cheap Argon2), starts the panel with gunicorn as
production does (kyogikai.ops.gunicorn_conf, config from the environment, two workers on
127.0.0.1 only), runs locust headless (bench/locustfile.py) with a fixed user count and time
limit, so it stops by itself, then stops gunicorn and prints one JSON object: requests, failures,
requests per second, p50/p95/p99 overall and per request type, and the load average before and
after. See bench/README.md.
"""

import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench import baselines  # noqa: E402
from bench.run import (  # noqa: E402
    FAST_ARGON2,
    LOGIN,
    NO_SECOND_FACTOR,
    OUT_DIR,
    PASSWORD,
    TARGETS,
    Database,
    _cpus,
    _load,
    baseline,
)
from bench.seed import seed  # noqa: E402
from kyogikai.app import create_app  # noqa: E402
from kyogikai.models import Case, Role, User, db  # noqa: E402

BIN = Path(sys.executable).parent
# The same factory production runs, with the bench's cheap Argon2 (its accounts were hashed with
# it, so a sign-in does not rehash): every other setting comes from the environment.
APP_SPEC = f"kyogikai:create_app({FAST_ARGON2!r})"
MARK = "負荷試験（架空）"  # what the simulated saves write into 備考


def accounts(n_coordinators: int, n_staff: int) -> tuple[dict, int]:
    """The bench coordinator and colleagues of hers; the bench agency staff and colleagues of
    hers (same agency, so the same scope). One hash for all: the same password. Returns the
    logins by kind and how many cases the staff's agency may see."""
    staff = baselines.add_agency_staff(db.session, PASSWORD)
    coordinator = db.session.scalar(sa.select(User).where(User.login == LOGIN))
    logins = {}
    for kind, first, count, role, agency_id in (
            ("coordinator", LOGIN, n_coordinators, Role.coordinator, coordinator.agency_id),
            ("staff", baselines.STAFF_LOGIN, n_staff, Role.agency_staff, staff["agency_id"])):
        logins[kind] = [first] + [f"{first}-{n}" for n in range(2, count + 1)]
        db.session.add_all(User(login=login, display_name=f"ベンチ {login}", role=role,
                                password_hash=coordinator.password_hash, active=True,
                                agency_id=agency_id) for login in logins[kind][1:])
    db.session.commit()
    return logins, staff["cases"]


def prepare(database: Database, args) -> dict:
    app = create_app({"TESTING": True, "SECRET_KEY": "bench-secret-key",
                      "SQLALCHEMY_DATABASE_URI": database.url,
                      "INSTANCE_PATH": str(OUT_DIR / "instance"),
                      **FAST_ARGON2, **NO_SECOND_FACTOR})
    with app.app_context():
        upgrade()  # the schema a deployment has (the health check wants the head revision)
        baseline()
        started = time.perf_counter()
        rows = seed(db.session, args.cases)
        logins, staff_cases = accounts(args.coordinators, args.staff)
        if database.kind == "postgresql":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        seconds = round(time.perf_counter() - started, 1)
        db.session.remove()
        db.engine.dispose()
    return {"app": app, "logins": logins, "staff_cases": staff_cases, "rows": rows,
            "seed_seconds": seconds}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(database: Database, work: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYOGIKAI_", "GUNICORN"))}
    env.update(DATABASE_URL=database.url, INSTANCE_PATH=str(work / "instance"),
               SECRET_KEY=secrets.token_hex(32), TOTP_REQUIRED_ROLES="",
               KYOGIKAI_BIND=f"127.0.0.1:{port}", KYOGIKAI_WORKERS="2",
               KYOGIKAI_ACCESS_LOG=str(work / "access.log"),
               KYOGIKAI_ERROR_LOG=str(work / "error.log"), KYOGIKAI_LOG_LEVEL="warning")
    process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "python:kyogikai.ops.gunicorn_conf",
                                APP_SPEC], cwd=work, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise SystemExit("gunicorn stopped:\n" + _tail(work / "error.log"))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return process
        except urllib.error.HTTPError as error:
            error.close()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        if time.monotonic() > deadline:
            stop(process)
            raise SystemExit("gunicorn did not become healthy:\n" + _tail(work / "error.log"))
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) \
        if path.exists() else ""


def run_locust(args, port: int, plan: Path, work: Path) -> Path:
    prefix = work / "locust"
    command = [str(BIN / "locust"), "-f", str(BENCH_DIR / "locustfile.py"), "--headless",
               "--host", f"http://127.0.0.1:{port}", "--users", str(args.users),
               "--spawn-rate", str(args.users), "--run-time", args.run_time,
               "--stop-timeout", "30", "--csv", str(prefix), "--only-summary",
               "--loglevel", "WARNING"]
    with (work / "locust.log").open("w") as log:
        subprocess.run(command, env={**os.environ, "LOAD_PLAN": str(plan)}, stdout=log,
                       stderr=subprocess.STDOUT, check=False, timeout=_seconds(args.run_time) + 300)
    return prefix


def _seconds(run_time: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    total, number = 0, ""
    for char in run_time:
        if char.isdigit():
            number += char
        else:
            total, number = total + int(number) * units[char], ""
    return total + int(number or 0)


def read_stats(prefix: Path) -> dict:
    def figures(row: dict) -> dict:
        return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "requests_per_second": round(float(row["Requests/s"]), 2),
                "p50_ms": _ms(row["50%"]), "p95_ms": _ms(row["95%"]), "p99_ms": _ms(row["99%"]),
                "max_ms": _ms(row["Max Response Time"])}

    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    overall = next(figures(r) for r in rows if r["Name"] == "Aggregated")
    by_type = {r["Name"]: figures(r) for r in rows if r["Name"] != "Aggregated"}
    failures = []
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with failures_csv.open(encoding="utf-8") as fh:
            failures = [{"name": r["Name"], "error": r["Error"][:300],
                         "occurrences": int(r["Occurrences"])} for r in csv.DictReader(fh)]
    return {"overall": overall, "by_type": by_type, "failure_messages": failures}


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else round(float(value), 1)


def saves_in_database(app) -> int:
    """Cases whose 備考 a simulated save wrote: the saves landed, not only answered 302."""
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Case)
                                  .where(Case.note.like(f"{MARK}%")))
        db.session.remove()
        db.engine.dispose()
    return count


def check(result: dict, budgets: dict) -> list[str]:
    broken = []
    overall = result["overall"]
    if overall["requests"] == 0:
        broken.append("no request was made")
    if overall["failures"] > budgets.get("failures", 0):
        broken.append(f"failures: {overall['failures']} > {budgets.get('failures', 0)}")
    if "p95_ms" in budgets and (overall["p95_ms"] or 0) > budgets["p95_ms"]:
        broken.append(f"p95: {overall['p95_ms']} ms > {budgets['p95_ms']} ms")
    for kind in ("coordinator save", "coordinator export_form1"):
        if not result["by_type"].get(kind, {}).get("requests"):
            broken.append(f"no {kind} was made: run longer")
    return broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (the recorded runs); default: a "
                                               "fresh SQLite file")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--staff", type=int, help="of the users, agency staff (default: 2 in 5)")
    parser.add_argument("--run-time", default="3m", help="locust's time limit (3m, 90s, …)")
    parser.add_argument("--wait", default="1,3",
                        help="seconds each person waits between clicks: min,max (default 1,3)")
    parser.add_argument("--targets", type=Path, default=TARGETS)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a [load] budget of targets.toml is broken")
    parser.add_argument("--smoke", action="store_true",
                        help="each person runs every task once first (the pytest smoke run)")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    args = parser.parse_args(argv)
    args.staff = args.users * 2 // 5 if args.staff is None else args.staff
    args.coordinators = args.users - args.staff
    wait_min, wait_max = (float(x) for x in args.wait.split(","))

    database = Database(args.database_url, args.cases)
    work = OUT_DIR / f"load-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    database.create()
    process = None
    try:
        print(f"seeding {args.cases:,} cases into {database.kind} ...", file=sys.stderr,
              flush=True)
        prepared = prepare(database, args)
        plan = work / "plan.json"
        plan.write_text(json.dumps({
            "password": PASSWORD, "cases": args.cases, "wait_min": wait_min,
            "visible_cases": {"coordinator": args.cases, "staff": prepared["staff_cases"]},
            "wait_max": wait_max, "every_task_first": args.smoke,
            "users": {"coordinator": args.coordinators, "staff": args.staff},
            "logins": prepared["logins"],
        }, ensure_ascii=False), encoding="utf-8")
        port = free_port()
        print(f"seeded in {prepared['seed_seconds']} s; gunicorn on 127.0.0.1:{port} ...",
              file=sys.stderr, flush=True)
        process = start_gunicorn(database, work, port)
        load_before = _load()
        print(f"locust: {args.users} users for {args.run_time} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        prefix = run_locust(args, port, plan, work)
        elapsed = round(time.monotonic() - started, 1)
        load_after = _load()
        stop(process)
        process = None
        stats = read_stats(prefix)
        saved = saves_in_database(prepared["app"])
    finally:
        if process is not None:
            stop(process)
        database.drop(args.keep)

    with args.targets.open("rb") as fh:
        budgets = tomllib.load(fh).get("load", {})
    result = {
        "meta": {"database": database.kind, "cases": args.cases, "users": args.users,
                 "coordinators": args.coordinators, "agency_staff": args.staff,
                 "staff_scope_cases": prepared["staff_cases"],
                 "run_time": args.run_time, "wall_seconds": elapsed,
                 "wait_seconds": [wait_min, wait_max], "gunicorn_workers": 2,
                 "date": date.today().isoformat(), "cpus": _cpus(),
                 "load_average_before": load_before, "load_average_after": load_after},
        **stats, "cases_saved_in_database": saved, "budgets": budgets,
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if stats["overall"]["failures"] or not stats["overall"]["requests"] or args.keep:
        print(f"locust log: {work / 'locust.log'}; gunicorn: {work / 'error.log'}",
              file=sys.stderr)
    else:
        shutil.rmtree(work)
    if args.check:
        broken = check(result, budgets)
        if broken:
            print("\nBUDGET BROKEN (load):", *(f"  - {b}" for b in broken), sep="\n",
                  file=sys.stderr)
            return 1
        print(f"all {len(budgets)} load budgets met", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
