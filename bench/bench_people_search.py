"""Exact resident search by ID number: our selector through the blind index vs a raw
lookup on an indexed plaintext column.

Starts a throw-away PostgreSQL cluster (tools/run_tests.ThrowawayCluster), migrates it,
and loads 1 000 000 residents (``--quick``: 100 000) with COPY: every row has a real,
unique HMAC-SM3 digest of its own valid ID number; ciphertexts come from a small pool
(they are never read by the search). A baseline table holds the same ID numbers in
plaintext with a unique B-tree index.

- subject: ``person_search(user, PersonFilters(id_number=...))`` for a district-scoped
  user, materialised with ``list()`` - the whole code path of the search page: digest
  computation, scope filter, select_related joins and the tags prefetch (2 queries);
- selector-lean: the same selector returning only primary keys (``values_list``): the
  ORM's own cost without the page's joins and prefetch;
- blind-index-raw: the digest computed in Python (HMAC-SM3) and the same scoped lookup on
  ``id_number_digest`` in raw SQL: the cost of the blind index itself, comparable
  one-to-one with the baseline (this is the headline ratio; target within 2x);
- baseline: ``SELECT ... FROM baseline WHERE id_number = %s`` through the same Django
  connection cursor.

Rounds are interleaved and the best round of each side counts. Every ratio is the mean
latency over the baseline's. The ORM figures are reported so that the ORM's fixed
per-query cost (query compilation, model construction) is visible separately. Runs in a
child process so database settings never collide with other benchmarks.

    python bench/bench_people_search.py [--quick]   (or: make bench BENCH_ARGS="people_search")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main(quick: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tools"))
    from run_tests import ThrowawayCluster, postgres_bindir

    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL 15+ initdb found (apt-get install postgresql)")
    cluster = ThrowawayCluster(bindir)
    try:
        url = cluster.start()
        cluster._run(
            str(bindir / "createdb"), "-h", str(cluster.sock), "-p", str(cluster.port), "-U", "postgres", "civicgrid"
        )
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--quick"] if quick else [])
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DATABASE_URL": url}
        env.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    finally:
        cluster.stop()
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line, flush=True)
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench_people_search child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def _number(i: int) -> str:
    from civicgrid.common.idcard import make_id_number

    male = i % 2 == 1
    birth = dt.date(1930, 1, 1) + dt.timedelta(days=i // 400)
    return make_id_number("150104", birth, (i % 400) * 2 + int(male), male)


def load(n: int) -> dict[str, Any]:
    from django.db import connection

    from civicgrid.common.masking import mask_id_number, mask_phone
    from civicgrid.common.protected import digest
    from civicgrid.people.models import Person
    from civicgrid.people.services import protected_columns
    from civicgrid.testing.factories import build_sample_district

    sample = build_sample_district()
    grids = [(g.pk, g.code) for g in sample.grids]
    pool = [protected_columns("id_number", _number(i))["id_number_cipher"] for i in range(64)]
    phone_pool = [protected_columns("phone", f"1380000{i:04d}")["phone_cipher"] for i in range(64)]
    addr_pool = [
        protected_columns("current_address", f"清泉街社区{i}号楼")["current_address_cipher"] for i in range(64)
    ]
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
    cols = [
        "created_at",
        "updated_at",
        "area_code",
        "name",
        "gender",
        "birth_date",
        "ethnicity",
        "political_status",
        "residence_type",
        "id_number_cipher",
        "id_number_masked",
        "id_number_digest",
        "phone_cipher",
        "phone_masked",
        "phone_digest",
        "registered_address_cipher",
        "registered_address_masked",
        "current_address_cipher",
        "current_address_masked",
        "grid_id",
        "relation_to_head",
        "is_active",
        "row_digest",
    ]
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE baseline (id bigserial PRIMARY KEY, id_number varchar(18) NOT NULL, "
            "name varchar(50) NOT NULL, area_code varchar(20) NOT NULL)"
        )
        raw = cur.cursor
        table = Person._meta.db_table
        with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for i in range(n):
                number = _number(i)
                grid_id, code = grids[i % len(grids)]
                phone = f"13{i:09d}"
                copy.write_row(
                    (
                        now,
                        now,
                        code,
                        surnames[i % 20] + given[(i * 7) % 26] + given[(i * 13) % 26],
                        "male" if i % 2 else "female",
                        number[6:10] + "-" + number[10:12] + "-" + number[12:14],
                        "汉族",
                        "masses",
                        "registered",
                        pool[i % 64],
                        mask_id_number(number),
                        digest("id_number", number, context="people.person.id_number"),
                        phone_pool[i % 64],
                        mask_phone(phone),
                        digest("phone", phone, context="people.person.phone"),
                        "",
                        "",
                        addr_pool[i % 64],
                        "清泉街社区****",
                        grid_id,
                        "",
                        True,
                        "",
                    )
                )
        with raw.copy("COPY baseline (id_number, name, area_code) FROM STDIN") as copy:
            for i in range(n):
                copy.write_row((_number(i), surnames[i % 20] + given[(i * 7) % 26], grids[i % len(grids)][1]))
        cur.execute("CREATE UNIQUE INDEX baseline_id_number ON baseline (id_number)")
        cur.execute(f"ANALYZE {table}")
        cur.execute("ANALYZE baseline")
    return {"load_seconds": round(time.perf_counter() - started, 1), "district": sample.district}


def child(quick: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from civicgrid.accounts.enums import Role
    from civicgrid.common.protected import digest
    from civicgrid.people.selectors import PersonFilters, person_search
    from civicgrid.testing.factories import make_user

    n = 100_000 if quick else 1_000_000
    loaded = load(n)
    user = make_user(Role.STREET_ADMIN, loaded["district"], username="bench-admin")
    rng = random.Random(7)
    probes = [_number(rng.randrange(n)) for _ in range(2000 if not quick else 1000)]

    def subject() -> None:
        for number in probes:
            found = list(person_search(user, PersonFilters(id_number=number)))
            assert len(found) == 1

    def subject_core() -> None:
        for number in probes:
            found = list(person_search(user, PersonFilters(id_number=number)).values_list("pk", flat=True))
            assert len(found) == 1

    scope = user.area.code
    upper = scope + "9" * (20 - len(scope))

    def blind_raw() -> None:
        with connection.cursor() as cur:
            for number in probes:
                key = digest("id_number", number, context="people.person.id_number")
                cur.execute(
                    "SELECT id, id_number_masked, name, area_code FROM people_person WHERE id_number_digest = %s "
                    "AND area_code >= %s AND area_code <= %s AND is_active",
                    [key, scope, upper],
                )
                assert len(cur.fetchall()) == 1

    def baseline() -> None:
        with connection.cursor() as cur:
            for number in probes:
                cur.execute("SELECT id, id_number, name, area_code FROM baseline WHERE id_number = %s", [number])
                assert len(cur.fetchall()) == 1

    best = {k: float("inf") for k in ("subject", "subject_core", "blind_raw", "baseline")}
    for _round in range(5):
        for name, fn in (
            ("subject", subject),
            ("subject_core", subject_core),
            ("blind_raw", blind_raw),
            ("baseline", baseline),
        ):
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    per = {k: v / len(probes) * 1e6 for k, v in best.items()}
    qs = person_search(user, PersonFilters(id_number=probes[0])).prefetch_related(None)
    plan = qs.explain(analyze=True).replace("\n", " | ")
    figures = {
        "residents": n,
        "probes": len(probes),
        "load_seconds": loaded["load_seconds"],
        "subject_us": round(per["subject"], 1),
        "subject_core_us": round(per["subject_core"], 1),
        "blind_index_raw_us": round(per["blind_raw"], 1),
        "baseline_us": round(per["baseline"], 1),
        "ratio_blind_index": round(per["blind_raw"] / per["baseline"], 2),
        "ratio_selector_lean": round(per["subject_core"] / per["baseline"], 2),
        "ratio_selector_page": round(per["subject"] / per["baseline"], 2),
        "plan": plan,
        "target_ratio": 2.0,
    }
    print(
        f"people search ({n} residents): blind index (HMAC + scoped digest lookup) "
        f"{figures['blind_index_raw_us']} us vs indexed plaintext {figures['baseline_us']} us: "
        f"ratio {figures['ratio_blind_index']}x; through the ORM selector: lean {figures['subject_core_us']} us "
        f"({figures['ratio_selector_lean']}x), page path {figures['subject_us']} us "
        f"({figures['ratio_selector_page']}x)",
        flush=True,
    )
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
