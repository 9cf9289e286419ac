"""様式 benchmark: 様式1 xlsx for 10,000 cases (against a bare XlsxWriter dump and openpyxl, in
the same run), 様式3 for a 年度 of 100,000 cases, 様式1 PDF for 1,000 cases.

    python bench/forms.py                       # all three, SQLite
    python bench/forms.py --only form1 --check  # exit 1 when a budget in targets.toml is broken
    python bench/forms.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Each part seeds its own database (bench/seed.py, plus companions, 主訴 and meetings here), then
times what a person's click runs: the ledger button's request through the real app (login,
policy, query, masking, the workbook) and the builder alone on rows already loaded. Memory is the
peak resident set above the process's own level just before the export (Linux: VmHWM reset
through /proc/self/clear_refs). See bench/README.md for the figures and what they mean.
"""

import argparse
import gc
import io
import json
import random
import statistics
import subprocess
import sys
import time
import tomllib
import zipfile
from datetime import date
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import openpyxl  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import xlsxwriter  # noqa: E402
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # noqa: E402

import bench.seed as seed_module  # noqa: E402
from bench.run import (  # noqa: E402
    FAST_ARGON2,
    LOGIN,
    NO_SECOND_FACTOR,
    OUT_DIR,
    TARGETS,
    Database,
    _cpus,
    _load,
    baseline,
    login,
)
from kyogikai.app import create_app  # noqa: E402
from kyogikai.exports import form1  # noqa: E402
from kyogikai.exports import forms as exports  # noqa: E402
from kyogikai.japanese.fiscal import fiscal_year  # noqa: E402
from kyogikai.models import (  # noqa: E402
    Agency,
    Case,
    Companion,
    Concern,
    Meeting,
    MeetingKind,
    Member,
    Relationship,
    User,
    Woman,
    db,
)
from kyogikai.models.meetings import meeting_agencies  # noqa: E402
from kyogikai.models.women import woman_concerns  # noqa: E402
from kyogikai.policy import forms as policy  # noqa: E402
from kyogikai.policy import scoping  # noqa: E402

CONCERNS = ["配偶者等からの暴力（DV）", "性暴力・性被害", "生活困窮", "住居の問題", "心身の健康",
            "就労", "その他"]


# --------------------------------------------------------------------------- data


def extras(session, rng: random.Random) -> dict:
    """What 様式 read beyond the ledger seed: companions, 主訴, meetings, a coordinator."""
    women = session.scalars(sa.select(Woman.id)).all()
    concern_ids = []
    for i, name in enumerate(CONCERNS):
        concern = Concern(name=name, sort_order=i)
        session.add(concern)
        session.flush()
        concern_ids.append(concern.id)
    companions, links = [], []
    now = seed_module.utcnow()
    for woman_id in women:
        if rng.random() < 0.4:
            for j in range(rng.randint(1, 3)):
                companions.append({"woman_id": woman_id, "name": f"子 {j + 1}",
                                   "furigana": "コ", "relationship_to_woman":
                                   Relationship.child.value, "created_at": now,
                                   "updated_at": now, "postal_code": "", "prefecture": "",
                                   "municipality": "", "street": "", "katagaki": "",
                                   "address_hidden": False, "note": ""})
        links += [{"woman_id": woman_id, "concern_id": c}
                  for c in rng.sample(concern_ids, k=rng.randint(0, 3))]
    for start in range(0, len(companions), seed_module.CHUNK):
        session.execute(Companion.__table__.insert(), companions[start:start + seed_module.CHUNK])
    for start in range(0, len(links), seed_module.CHUNK):
        session.execute(woman_concerns.insert(), links[start:start + seed_module.CHUNK])
    agencies = session.scalars(sa.select(Agency.id)).all()
    meetings = 0
    fy = fiscal_year(date.today())
    for year in range(fy - 5, fy + 1):
        for kind, count in ((MeetingKind.representative, 2), (MeetingKind.practitioner, 4),
                            (MeetingKind.case_conference, 150)):
            for _ in range(count):
                meeting = Meeting(kind=kind, held_on=date(year, 4, 1).replace(
                    month=rng.randint(4, 12), day=rng.randint(1, 28)))
                session.add(meeting)
                session.flush()
                session.execute(meeting_agencies.insert(), [
                    {"meeting_id": meeting.id, "agency_id": a}
                    for a in rng.sample(agencies, k=rng.randint(2, len(agencies)))])
                meetings += 1
    session.add(Member(name="ベンチ 調整", furigana="ベンチ チョウセイ", agency_id=agencies[0],
                       is_coordinator=True, qual_social_worker=True))
    return {"companions": len(companions), "woman_concerns": len(links), "meetings": meetings}


def make_app(database: Database):
    return create_app({"TESTING": True, "SECRET_KEY": "bench-secret-key",
                       "SQLALCHEMY_DATABASE_URI": database.url,
                       "INSTANCE_PATH": str(OUT_DIR / "instance"), **FAST_ARGON2,
                       **NO_SECOND_FACTOR})


def build(app, n_cases: int, one_year: bool, analyze: bool) -> dict:
    """Seed n cases (over five 年度, or all in the last finished one) plus the extras."""
    with app.app_context():
        db.metadata.create_all(db.engine)
        baseline()
        started = time.perf_counter()
        years = seed_module.FISCAL_YEARS
        today = date.today()
        if one_year:  # a 年度 of n cases: all received in the last finished 年度
            seed_module.FISCAL_YEARS = 1
            today = date(fiscal_year(date.today()), 3, 31)
        try:
            counts = seed_module.seed(db.session, n_cases, today=today)
        finally:
            seed_module.FISCAL_YEARS = years
        counts.update(extras(db.session, random.Random(7)))
        db.session.commit()
        if analyze:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        return {"seconds": round(time.perf_counter() - started, 1), "rows": counts,
                "fiscal_year": fiscal_year(today)}


# --------------------------------------------------------------------------- measuring


def timed(fn, repeats: int, warmups: int = 1) -> tuple[dict, object]:
    """Wall time (what a person waits) and this process's CPU time (what the export itself
    costs: on a shared 2-core machine other jobs inflate the wall time, not the CPU time)."""
    result = None
    for _ in range(warmups):
        result = fn()
    wall, cpu = [], []
    for _ in range(repeats):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {"median_s": round(statistics.median(wall), 3), "min_s": round(min(wall), 3),
            "max_s": round(max(wall), 3), "cpu_median_s": round(statistics.median(cpu), 3),
            "runs": repeats}, result


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def peak_mb_above_baseline(fn) -> float | None:
    """Peak resident memory while fn runs, above the resident memory just before (Linux)."""
    try:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = _status_kb("VmRSS")
        fn()
        return round((_status_kb("VmHWM") - before) / 1024, 1)
    except OSError:
        return None


def probe_memory(database_url: str, what: str) -> dict:
    """In a fresh interpreter (``--probe-memory``): everything set up (app, login, rows), then
    one export; its peak memory above that baseline. A process that already ran exports keeps
    their memory, which would hide the peak. ``what`` is a URL of the app, or a writer's name
    (``xlsxwriter``, ``bare``, ``openpyxl_bare``, ``openpyxl:N``) run on the loaded rows."""
    database = Database(None, 0)
    database.url = database_url
    app = make_app(database)
    client = app.test_client()
    login(client)
    client.get("/admin/case/?page_size=20")  # warm: templates, catalogs, metadata
    if what.startswith("/"):
        run = lambda: client.get(what)  # noqa: E731
    else:
        rows = rows_for(app)
        meta = form1.Form1Meta("ベンチ市", "ベンチ", date.today(), date.today())
        name, _, n = what.partition(":")
        writers = {"xlsxwriter": lambda: form1.write_xlsx(rows, meta, io.BytesIO()),
                   "bare": lambda: bare_dump(rows, io.BytesIO()),
                   "openpyxl_bare": lambda: openpyxl_bare(rows, io.BytesIO()),
                   "openpyxl": lambda: openpyxl_form1(rows[:int(n or 0)], io.BytesIO())}
        run = writers[name]
    baseline_mb = round(_status_kb("VmRSS") / 1024, 1)
    return {"baseline_mb": baseline_mb, "peak_above_baseline_mb": peak_mb_above_baseline(run)}


def memory_in_child(database: Database, what: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--probe-memory", database.url, what],
                          capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"memory probe {what} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bare_dump(rows: list, out) -> None:
    """The baseline: the same cells of the same rows (three rows per block), written with no
    formats, merges, heights or page set-up."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    ws = book.add_worksheet()
    r = 0
    for row in rows:
        for block in form1.blocks(row):
            personal, rounds = form1.personal_cells(block), form1.review_cells(block)
            for i, label in enumerate(form1.ROW_LABELS):
                if i == 0:
                    for c, value in enumerate(personal):
                        ws.write_string(r, c, value)
                    ws.write_string(r, form1.NOTE_COL, row.note)
                ws.write_string(r, form1.LABEL_COL, label)
                for j, cells in enumerate(rounds):
                    ws.write_string(r, form1.FIRST_ROUND_COL + j, cells[i])
                r += 1
    book.close()


def openpyxl_bare(rows: list, out) -> None:
    """The bare dump's cells with openpyxl's write-only (streaming) workbook."""
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet()
    for row in rows:
        for block in form1.blocks(row):
            personal, rounds = form1.personal_cells(block), form1.review_cells(block)
            for i, label in enumerate(form1.ROW_LABELS):
                cells = list(personal) if i == 0 else [None] * len(personal)
                cells += [label, *(c[i] for c in rounds), row.note if i == 0 else None]
                ws.append(cells)
    book.save(out)


def openpyxl_form1(rows: list, out) -> None:
    """The same 様式1 layout (merges, borders, wrap, heights, print set-up) with openpyxl, whose
    write-only mode cannot merge cells: the whole sheet is held in memory until saved."""
    book = openpyxl.Workbook()
    ws = book.active
    side = Side(style="thin")
    box = Border(left=side, right=side, top=side, bottom=side)
    wrap = Alignment(wrap_text=True, vertical="top")
    font = Font(name="ＭＳ 明朝", size=9)
    head_fill = PatternFill("solid", fgColor="EEEEEE")
    for col, width in enumerate(form1.WIDTHS, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(col)].width = width
    ws.cell(4, 1, "番号")
    for col, heading in enumerate(form1.HEADINGS, start=1):
        cell = ws.cell(4, col, heading)
        cell.fill, cell.border, cell.font = head_fill, box, font
        ws.merge_cells(start_row=4, start_column=col, end_row=5, end_column=col)
    r = 6
    for row in rows:
        for block in form1.blocks(row):
            personal, rounds = form1.personal_cells(block), form1.review_cells(block)
            for col, value in enumerate(personal, start=1):
                cell = ws.cell(r, col, value)
                cell.border, cell.alignment, cell.font = box, wrap, font
                ws.merge_cells(start_row=r, start_column=col, end_row=r + 2, end_column=col)
            for i, label in enumerate(form1.ROW_LABELS):
                ws.cell(r + i, form1.LABEL_COL + 1, label).border = box
                for j, cells in enumerate(rounds):
                    cell = ws.cell(r + i, form1.FIRST_ROUND_COL + 1 + j, cells[i])
                    cell.border, cell.alignment, cell.font = box, wrap, font
                ws.row_dimensions[r + i].height = 15
            ws.cell(r, form1.NOTE_COL + 1, block.row.note).border = box
            ws.merge_cells(start_row=r, start_column=form1.NOTE_COL + 1, end_row=r + 2,
                           end_column=form1.NOTE_COL + 1)
            r += 3
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "4:5"
    book.save(out)


def bench_user():
    """The seeded account the exports are made for (an export is always some account's)."""
    return db.session.scalar(sa.select(User).where(User.login == LOGIN))


def rows_for(app, user=None) -> list:
    """Every case, masked, as the unfiltered ledger would give them (loaded once)."""
    with app.app_context():
        user = user or bench_user()
        query = db.session.query(Case).order_by(Case.received_on.desc())
        return list(policy.form1_rows(scoping.scope(query, "case", user), user=user,
                                      fiscal_year=None, reference_date=date.today()))


def form1_part(database: Database, args) -> dict:
    app = make_app(database)
    print(f"様式1: seeding {args.form1_cases:,} cases ({database.kind}) ...", flush=True)
    seeded = build(app, args.form1_cases, one_year=False, analyze=database.kind == "postgresql")
    print(f"  seeded in {seeded['seconds']} s", flush=True)
    client = app.test_client()
    login(client)
    url = "/admin/case/form1/?format=xlsx"

    def request():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        return response.data

    print("  ledger button, xlsx (request through the app) ...", flush=True)
    endpoint, data = timed(request, args.repeats)
    endpoint["bytes"] = len(data)
    endpoint["memory"] = memory_in_child(database, url)
    with zipfile_of(data) as z:
        sheet_bytes = len(z.read("xl/worksheets/sheet1.xml"))

    print("  rows: query, load and mask ...", flush=True)
    load, rows = timed(lambda: rows_for(app), args.repeats)
    meta = form1.Form1Meta("ベンチ市", "ベンチ", date.today(), date.today())
    print("  builder alone vs a bare XlsxWriter dump vs openpyxl ...", flush=True)
    builder, _ = timed(lambda: form1.write_xlsx(rows, meta, io.BytesIO()), args.repeats)
    bare, _ = timed(lambda: bare_dump(rows, io.BytesIO()), args.repeats)
    builder["memory"] = memory_in_child(database, "xlsxwriter")
    bare["memory"] = memory_in_child(database, "bare")
    # openpyxl: the same cells in write-only mode (its fastest; it cannot merge there) on all
    # the rows, and the full layout in normal mode on the first few thousand: its merge_cells
    # checks each new range against every earlier one, so time grows with the square.
    pyxl_bare, _ = timed(lambda: openpyxl_bare(rows, io.BytesIO()), args.repeats)
    pyxl_bare["memory"] = memory_in_child(database, "openpyxl_bare")
    pyxl = {}
    for n in args.openpyxl_cases:
        part, _ = timed(lambda n=n: openpyxl_form1(rows[:n], io.BytesIO()), 1, warmups=0)
        mine, _ = timed(lambda n=n: form1.write_xlsx(rows[:n], meta, io.BytesIO()), 3)
        part["memory"] = memory_in_child(database, f"openpyxl:{n}")
        pyxl[n] = {"openpyxl": part, "xlsxwriter_builder": mine,
                   "ratio": round(part["cpu_median_s"] / mine["cpu_median_s"], 1)}
        print(f"    openpyxl, same layout, {n} cases: {part['median_s']} s", flush=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {
        "cases": args.form1_cases, "seed": seeded, "sheet_xml_bytes": sheet_bytes,
        "endpoint": endpoint, "rows_load_and_mask": load, "builder_xlsxwriter": builder,
        "bare_xlsxwriter_dump": bare, "openpyxl_write_only_bare": pyxl_bare,
        "openpyxl_same_layout": pyxl,
        # On CPU time: the same work whatever else the machine runs.
        "ratio_builder_to_bare": round(builder["cpu_median_s"] / bare["cpu_median_s"], 2),
        "ratio_endpoint_to_load_and_bare": round(
            endpoint["cpu_median_s"] / (load["cpu_median_s"] + bare["cpu_median_s"]), 2),
    }


def zipfile_of(data: bytes):
    return zipfile.ZipFile(io.BytesIO(data))


def form3_part(database: Database, args) -> dict:
    app = make_app(database)
    print(f"様式3: seeding a 年度 of {args.form3_cases:,} cases ({database.kind}) ...", flush=True)
    seeded = build(app, args.form3_cases, one_year=True, analyze=database.kind == "postgresql")
    print(f"  seeded in {seeded['seconds']} s", flush=True)
    fy = seeded["fiscal_year"]
    with app.app_context():
        user = bench_user()
        figures, f = timed(lambda: policy.figures(fy, user), args.repeats)
        report, _ = timed(lambda: exports.form3(fy, user=user, fmt="xlsx",
                                                via="bench"), args.repeats)
        women = f.women
        db.session.remove()
    client = app.test_client()
    login(client)
    preview, _ = timed(lambda: client.get(f"/admin/forms/form3/preview/?fiscal_year={fy}"),
                       args.repeats)
    with app.app_context():
        db.engine.dispose()
    return {"cases": args.form3_cases, "seed": seeded, "women_counted": women,
            "figures": figures, "form3_xlsx_with_figures": report, "preview_page": preview}


def pdf_part(database: Database, args) -> dict:
    app = make_app(database)
    print(f"様式1 PDF: seeding {args.pdf_cases:,} cases ({database.kind}) ...", flush=True)
    seeded = build(app, args.pdf_cases, one_year=False, analyze=database.kind == "postgresql")
    rows = rows_for(app)
    meta = form1.Form1Meta("ベンチ市", "ベンチ", date.today(), date.today())
    out = io.BytesIO()
    builder, count = timed(lambda: form1.write_pdf(rows, meta, io.BytesIO()), 1, warmups=0)
    form1.write_pdf(rows, meta, out)
    client = app.test_client()
    login(client)
    endpoint, _ = timed(lambda: client.get("/admin/case/form1/?format=pdf"), 1, warmups=0)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    seconds = endpoint["median_s"]
    return {"cases": args.pdf_cases, "seed": seeded, "builder": builder, "endpoint": endpoint,
            "bytes": len(out.getvalue()), "seconds_per_case": round(seconds / args.pdf_cases, 4),
            "app_assumes_seconds_per_case": exports.PDF_SECONDS_PER_CASE,
            "over_20_s": seconds > exports.WARN_SECONDS}


# --------------------------------------------------------------------------- report and check


def check(results: dict, targets: dict) -> list[str]:
    """The issue's budgets, on CPU time (see ``timed``) and on the peak of a fresh process."""
    broken = []
    f1 = results.get("form1")
    if f1:
        seconds = f1["endpoint"]["cpu_median_s"]
        if seconds > targets["form1_xlsx_seconds"]:
            broken.append(f"様式1 xlsx {seconds} s CPU > {targets['form1_xlsx_seconds']} s")
        if f1["ratio_endpoint_to_load_and_bare"] > targets["form1_xlsx_ratio_to_bare"]:
            broken.append(f"様式1 xlsx {f1['ratio_endpoint_to_load_and_bare']}x loading the rows "
                          f"and a bare dump of them > {targets['form1_xlsx_ratio_to_bare']}x")
        peak = f1["endpoint"]["memory"]["peak_above_baseline_mb"]
        if peak is not None and peak > targets["form1_xlsx_peak_mb"]:
            broken.append(f"様式1 xlsx peak {peak} MB > {targets['form1_xlsx_peak_mb']} MB")
    f3 = results.get("form3")
    if f3 and f3["form3_xlsx_with_figures"]["cpu_median_s"] > targets["form3_seconds"]:
        broken.append(f"様式3 {f3['form3_xlsx_with_figures']['cpu_median_s']} s CPU > "
                      f"{targets['form3_seconds']} s")
    return broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL; default: fresh SQLite files")
    parser.add_argument("--only", choices=["form1", "form3", "pdf"], action="append")
    parser.add_argument("--form1-cases", type=int, default=10_000)
    parser.add_argument("--form3-cases", type=int, default=100_000)
    parser.add_argument("--pdf-cases", type=int, default=1_000)
    parser.add_argument("--openpyxl-cases", type=lambda text: [int(n) for n in text.split(",")],
                        default=[500, 1000, 2000],
                        help="case counts for openpyxl with the full layout (it grows with the "
                             "square of the merges; 10,000 would take the best part of an hour)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "forms-results.json")
    parser.add_argument("--targets", type=Path, default=TARGETS)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a figure is over its budget in targets.toml [forms]")
    parser.add_argument("--probe-memory", nargs=2, metavar=("DATABASE_URL", "WHAT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe_memory:
        print(json.dumps(probe_memory(*args.probe_memory)))
        return 0
    parts = args.only or ["form1", "form3", "pdf"]
    runners = {"form1": (form1_part, args.form1_cases), "form3": (form3_part, args.form3_cases),
               "pdf": (pdf_part, args.pdf_cases)}
    results = {"meta": {"date": date.today().isoformat(), "cpus": _cpus(),
                        "load_average_before": _load(), "xlsxwriter": xlsxwriter.__version__,
                        "openpyxl": openpyxl.__version__}}
    for part in parts:
        runner, cases = runners[part]
        database = Database(args.database_url, cases)
        if database.path is not None:
            database.path = OUT_DIR / f"forms-{part}-{cases}.sqlite3"
            database.url = f"sqlite:///{database.path}"
        database.create()
        try:
            results[part] = runner(database, args)
        finally:
            database.drop(keep=False)
        results["meta"]["database"] = database.kind
    results["meta"]["load_average_after"] = _load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"results: {args.out}")
    if args.check:
        with args.targets.open("rb") as fh:
            targets = tomllib.load(fh)["forms"]
        broken = check(results, targets)
        if broken:
            print("\nBUDGET BROKEN:\n  - " + "\n  - ".join(broken), file=sys.stderr)
            return 1
        print("様式 budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
