"""住所秘匿 benchmark: what the one matcher over every hidden address costs a page.

    python bench/masking.py                       # 20,000 women, 500 of them hidden
    python bench/masking.py --women 100000 --hidden 500 --check
    python bench/masking.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Every page is a full request through the real app (Flask's test client, after a real login),
timed twice in the same run: as 事務担当 (who sees masks: the hidden addresses are queried, the
matcher is built or taken from its cache, and every free-text cell is normalised and searched)
and as 調整担当者 (who may see hidden addresses: no matcher at all). The ratio clerk/coordinator
is the cost of masking; budgets on those ratios live in bench/targets.toml ([masking]).
"""

import argparse
import json
import random
import sys
import time
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
    load_targets,
    summarise,
    timed,
)
from kyogikai.app import create_app  # noqa: E402
from kyogikai.japanese.address import KeyMatcher, address_keys, normalize  # noqa: E402
from kyogikai.models import (  # noqa: E402
    Agency,
    AgencyCategory,
    Case,
    Companion,
    Meeting,
    MeetingKind,
    Role,
    User,
    Woman,
    db,
)
from kyogikai.policy import masking  # noqa: E402
from kyogikai.policy.authentication import hash_password  # noqa: E402

PASSWORD = "bench password, fictional data only"
TOWNS = ["緑町", "本町", "青葉台", "桜丘", "東山", "西原", "南町", "北野", "若葉", "中央"]
BUILDINGS = ["ハイツ", "コーポ", "メゾン", "レジデンス", "荘", "マンション"]
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def _address(rng: random.Random, i: int) -> dict:
    return {"postal_code": f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
            "prefecture": "架空県", "municipality": "みどり市",
            "street": f"{rng.choice(TOWNS)}{rng.randint(1, 9)}丁目{rng.randint(1, 40)}番"
                      f"{rng.randint(1, 30)}号",
            "katagaki": f"{KANA[i % len(KANA)]}{KANA[(i // len(KANA)) % len(KANA)]}{rng.choice(BUILDINGS)}"
                        f"{rng.randint(1, 9)}0{rng.randint(1, 9)}号室"}


MINUTES = ("出席機関から近況の報告があった。本人は体調を崩しがちで、通院を継続している。子の就学について"
           "教育委員会と調整する。次回までに生活保護の申請状況を確認し、関係機関で情報を共有する。")


def seed(n_women: int, n_hidden: int, rng: random.Random) -> dict:
    """Women (n_hidden of them hidden, a third with a child), a case each, 60 meetings whose
    minutes (~2,000 characters) mention some hidden addresses in the spellings people type."""
    home = Agency(name="ベンチ市 女性支援課（架空）", category=AgencyCategory.local_government)
    db.session.add(home)
    db.session.flush()
    for role in (Role.coordinator, Role.clerk):
        db.session.add(User(login=f"bench-{role.value}", display_name=str(role.label), role=role,
                            password_hash=hash_password(PASSWORD), active=True, agency=home))
    hidden_at = set(rng.sample(range(n_women), n_hidden))
    women, hidden_addresses = [], []
    for i in range(n_women):
        address = _address(rng, i)
        hidden = i in hidden_at
        women.append({"name": f"架空 {KANA[i % len(KANA)]}{i}", "furigana": "カクウ", "alias": "",
                      "phone": "", "note": "", "search_text": "", "address_hidden": hidden,
                      **address})
        if hidden:
            hidden_addresses.append(address)
    db.session.execute(sa.insert(Woman), women)
    ids = db.session.scalars(sa.select(Woman.id).order_by(Woman.id)).all()
    address_columns = ("postal_code", "prefecture", "municipality", "street", "katagaki")
    db.session.execute(sa.insert(Companion), [
        {"woman_id": woman_id, "name": "架空 子", "furigana": "", "note": "",
         "relationship_to_woman": "child", **{key: women[index][key] for key in address_columns}}
        for index, woman_id in enumerate(ids) if index % 3 == 0])
    start = date(2024, 4, 1)
    db.session.execute(sa.insert(Case), [
        {"number": f"R6-{i + 1:05d}", "fiscal_year": 2024, "serial": i + 1, "woman_id": woman_id,
         "received_on": start + timedelta(days=i % 360), "status": "supporting",
         "end_reason": "", "note": "定期的に面談を実施。"}
        for i, woman_id in enumerate(ids)])
    meetings = []
    for i in range(60):
        mentions = []
        for address in rng.sample(hidden_addresses, 3):
            mentions.append(f"本人は{address['street']}から転居予定。")
            mentions.append(f"旧住所（{address['katagaki']}）の郵便物は転送手続き済み。")
        minutes = (MINUTES * 20)[:1800] + "".join(mentions)
        meetings.append({"kind": MeetingKind.case_conference.value,
                         "held_on": start + timedelta(days=6 * i), "place": "市役所 会議室",
                         "agenda": "個別ケースの支援方針", "minutes": minutes,
                         "decisions": MINUTES, "next_meeting_on": None})
    db.session.execute(sa.insert(Meeting), meetings)
    db.session.commit()
    return {"women": n_women, "hidden": n_hidden,
            "hidden_rows": db.session.scalar(sa.select(sa.func.count()).select_from(
                sa.union_all(sa.select(Woman.id).where(Woman.address_hidden.is_(True)),
                             sa.select(Companion.id).join(Woman).where(
                                 Woman.address_hidden.is_(True))).subquery())),
            "meeting_minutes_chars": len(meetings[0]["minutes"])}


def client_for(app, role: Role):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post("/login", data={"login": f"bench-{role.value}", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def page_measures(app, warmups: int, repeats: int) -> dict:
    with app.app_context():
        meeting_id = db.session.scalar(sa.select(sa.func.min(Meeting.id)))
        hidden_woman = db.session.scalar(sa.select(sa.func.min(Woman.id)).where(
            Woman.address_hidden.is_(True)))
    pages = {
        "meeting_details": f"/admin/meeting/details/?id={meeting_id}",
        "meeting_list": "/admin/meeting/",
        "ledger_first_page": "/admin/case/",
        "hidden_woman_edit": f"/admin/woman/edit/?id={hidden_woman}",
    }
    clients = {role: client_for(app, role) for role in (Role.clerk, Role.coordinator)}
    results = {}
    for name, url in pages.items():
        row = {}
        for role, client in clients.items():
            def get(client=client, url=url):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return response.get_data(as_text=True)
            samples, body = timed(get, warmups, repeats)
            row[role.value] = summarise(samples)
            row[f"{role.value}_masks"] = body.count(masking.MASK)
        row["ratio"] = round(row["clerk"]["median_ms"] / row["coordinator"]["median_ms"], 2)
        results[name] = row
    return results


def matcher_measures(app, repeats: int) -> dict:
    """The building blocks: the query of hidden addresses, the keys, the matcher, a text."""
    with app.app_context():
        rows = masking._hidden_addresses()
        started = time.perf_counter()
        for _ in range(repeats):
            masking._hidden_addresses()
        query_ms = (time.perf_counter() - started) / repeats * 1000
        started = time.perf_counter()
        keys = set()
        for row in rows:
            keys |= address_keys(postal_code=row[0], municipality=row[1], street=row[2],
                                 katagaki=row[3])
        keys_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        matcher = KeyMatcher(keys)
        trie_ms = (time.perf_counter() - started) * 1000
        minutes = db.session.scalar(sa.select(Meeting.minutes).limit(1))
        started = time.perf_counter()
        for _ in range(repeats):
            matcher._find_ranges(minutes)  # first sight of a text; later views are remembered
        replace_ms = (time.perf_counter() - started) / repeats * 1000
        matcher.replace(minutes, masking.MASK)
        started = time.perf_counter()
        for _ in range(repeats):
            matcher.replace(minutes, masking.MASK)
        seen_ms = (time.perf_counter() - started) / repeats * 1000
        started = time.perf_counter()
        for _ in range(repeats):
            normalize(minutes)
        normalize_ms = (time.perf_counter() - started) / repeats * 1000
    return {"hidden_rows": len(rows), "keys": len(keys),
            "query_hidden_addresses_ms": round(query_ms, 2),
            "keys_cold_ms": round(keys_ms, 1), "trie_cold_ms": round(trie_ms, 1),
            "mask_2000_chars_first_ms": round(replace_ms, 3),
            "mask_2000_chars_seen_ms": round(seen_ms, 4),
            "normalize_2000_chars_ms": round(normalize_ms, 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--women", type=int, default=20000)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--database-url")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "masking.json")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a ratio is over its budget in targets.toml [masking]")
    args = parser.parse_args(argv)
    database = Database(args.database_url, args.women)
    database.path = database.path and database.path.with_name(f"masking-{args.women}.sqlite3")
    if database.path:
        database.url = f"sqlite:///{database.path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)
    database.create()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "SECRET_KEY": "bench",
                          "INSTANCE_PATH": str(OUT_DIR / "instance"), **FAST_ARGON2,
                          **NO_SECOND_FACTOR})
        with app.app_context():
            db.metadata.create_all(db.engine)
            started = time.perf_counter()
            seeded = seed(args.women, args.hidden, random.Random(20250401))
            seeded["seconds"] = round(time.perf_counter() - started, 1)
            if database.kind == "postgresql":
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
        results = {"database": database.kind, "seeded": seeded,
                   "matcher": matcher_measures(app, args.repeats),
                   "pages": page_measures(app, args.warmups, args.repeats)}
        with app.app_context():
            db.engine.dispose()
    finally:
        database.drop(keep=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps({"database": results["database"], "seeded": results["seeded"],
                      "matcher": results["matcher"]}, ensure_ascii=False))
    print(f"{'page':<22} {'clerk ms':>9} {'coord ms':>9} {'ratio':>6} {'masks':>6}")
    for name, row in results["pages"].items():
        print(f"{name:<22} {row['clerk']['median_ms']:>9.1f} "
              f"{row['coordinator']['median_ms']:>9.1f} {row['ratio']:>6.2f} "
              f"{row['clerk_masks']:>6}")
    if args.check:
        budgets = load_targets(BENCH_DIR / "targets.toml", "masking")
        broken = [f"{name}: ratio {results['pages'][name]['ratio']} > {budget}"
                  for name, budget in budgets.items() if results["pages"][name]["ratio"] > budget]
        print("\n".join(broken) or f"all {len(budgets)} masking budgets met")
        return 1 if broken else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
