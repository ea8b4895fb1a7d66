"""Exact resident search by ID number on PostgreSQL: our code path through the blind index
vs the same lookup on an indexed plaintext column, compared layer by layer.

Starts a throw-away PostgreSQL cluster (tools/run_tests.ThrowawayCluster), migrates it,
and loads 1 000 000 residents (``--quick``: 100 000) with COPY: every row has a real,
unique HMAC-SM3 digest of its own valid ID number; ciphertexts come from a small pool
(they are never read by the search). For the baseline the SAME table gets an extra
plaintext column ``id_number_plain`` (bench database only) with a unique B-tree index, so
both sides read the same rows from the same heap and differ only in the lookup column.

(i) raw SQL vs raw SQL (the cost of the blind index itself):
  - subject: the digest computed in Python (``protected.digest``: HMAC-SM3) and
    ``SELECT ... FROM people_person WHERE id_number_digest = %s AND <scope range> AND is_active``;
  - baseline: the same SELECT ``WHERE id_number_plain = %s AND <scope range> AND is_active``.
(ii) our selector vs the identical ORM query on the plaintext column (same layer):
  - subject: ``person_find_by_id_number(user, number)``: digest, scope, one query with
    grid/building/compound/household joined, a Person instance returned;
  - baseline: ``person_lookup_queryset(user)`` (the selector's own queryset: same scope,
    joins and deferred columns) ``.extra(where=["id_number_plain = %s"]).get()``.
The target (within 2x) applies to both ratios. For transparency the list-page path
(``person_search`` with the tags prefetch, 2 queries) is timed too; it has no plaintext
counterpart and no target.

Rounds are interleaved and the best round of each side counts; figures are mean
microseconds per lookup. The machine's load average is recorded with the figures. Runs in
a child process so database settings never collide with other benchmarks.

    python bench/bench_people_search.py [--quick]   (or: make bench BENCH_ARGS="people_search")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main(quick: bool) -> dict[str, Any]:
    from pgchild import run_on_postgres

    return run_on_postgres(__file__, quick)


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
        "id_number_plain",
    ]
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    with connection.cursor() as cur:
        table = Person._meta.db_table
        # Bench database only: the baseline's plaintext column on the same table.
        cur.execute(f"ALTER TABLE {table} ADD COLUMN id_number_plain varchar(18)")
        raw = cur.cursor
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
                        number,
                    )
                )
        cur.execute(f"CREATE UNIQUE INDEX bench_person_id_number_plain ON {table} (id_number_plain)")
        cur.execute(f"VACUUM ANALYZE {table}")
    return {"load_seconds": round(time.perf_counter() - started, 1), "district": sample.district}


def child(quick: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from civicgrid.accounts.enums import Role
    from civicgrid.common.protected import digest
    from civicgrid.people.models import Person
    from civicgrid.people.selectors import (
        PersonFilters,
        person_find_by_id_number,
        person_lookup_queryset,
        person_search,
    )
    from civicgrid.testing.factories import make_user

    load_before = os.getloadavg()
    n = 100_000 if quick else 1_000_000
    loaded = load(n)
    user = make_user(Role.STREET_ADMIN, loaded["district"], username="bench-admin")
    rng = random.Random(7)
    probes = [_number(rng.randrange(n)) for _ in range(2000 if not quick else 1000)]
    scope = user.area.code
    upper = scope + "9" * (20 - len(scope))
    columns = "id, name, area_code, gender, birth_date, id_number_masked, grid_id, building_id, household_id"
    table = Person._meta.db_table

    def raw_subject() -> None:
        with connection.cursor() as cur:
            for number in probes:
                key = digest("id_number", number, context="people.person.id_number")
                cur.execute(
                    f"SELECT {columns} FROM {table} WHERE id_number_digest = %s "
                    "AND area_code >= %s AND area_code <= %s AND is_active",
                    [key, scope, upper],
                )
                assert len(cur.fetchall()) == 1

    def raw_baseline() -> None:
        with connection.cursor() as cur:
            for number in probes:
                cur.execute(
                    f"SELECT {columns} FROM {table} WHERE id_number_plain = %s "
                    "AND area_code >= %s AND area_code <= %s AND is_active",
                    [number, scope, upper],
                )
                assert len(cur.fetchall()) == 1

    def orm_subject() -> None:
        for number in probes:
            person = person_find_by_id_number(user, number)
            assert person is not None and person.grid.code

    def orm_baseline() -> None:
        for number in probes:
            person = (
                person_lookup_queryset(user).extra(where=["people_person.id_number_plain = %s"], params=[number]).get()
            )
            assert person.grid.code

    def page_path() -> None:
        for number in probes:
            found = list(person_search(user, PersonFilters(id_number=number)))
            assert len(found) == 1

    sides = {
        "raw_subject": raw_subject,
        "raw_baseline": raw_baseline,
        "orm_subject": orm_subject,
        "orm_baseline": orm_baseline,
        "page_path": page_path,
    }
    best = dict.fromkeys(sides, float("inf"))
    for _round in range(5):
        for name, fn in sides.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    per = {k: v / len(probes) * 1e6 for k, v in best.items()}
    key = digest("id_number", probes[0], context="people.person.id_number")
    plan = person_lookup_queryset(user).filter(id_number_digest=key).explain(analyze=True).replace("\n", " | ")
    plan_baseline = (
        person_lookup_queryset(user)
        .extra(where=["people_person.id_number_plain = %s"], params=[probes[0]])
        .explain(analyze=True)
        .replace("\n", " | ")
    )
    figures = {
        "residents": n,
        "probes": len(probes),
        "load_seconds": loaded["load_seconds"],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "raw_blind_index_us": round(per["raw_subject"], 1),
        "raw_plaintext_us": round(per["raw_baseline"], 1),
        "ratio_raw": round(per["raw_subject"] / per["raw_baseline"], 2),
        "selector_find_by_id_number_us": round(per["orm_subject"], 1),
        "orm_plaintext_us": round(per["orm_baseline"], 1),
        "ratio_selector": round(per["orm_subject"] / per["orm_baseline"], 2),
        "page_path_us": round(per["page_path"], 1),
        "target_ratio": 2.0,
        "plan": plan,
        "plan_baseline": plan_baseline,
    }
    print(
        f"people search ({n} residents): (i) raw SQL: blind index (HMAC-SM3 + scoped digest lookup) "
        f"{figures['raw_blind_index_us']} us vs indexed plaintext {figures['raw_plaintext_us']} us: "
        f"ratio {figures['ratio_raw']}x; (ii) selector person_find_by_id_number "
        f"{figures['selector_find_by_id_number_us']} us vs the same ORM query on plaintext "
        f"{figures['orm_plaintext_us']} us: ratio {figures['ratio_selector']}x (target 2x); "
        f"list-page path {figures['page_path_us']} us",
        flush=True,
    )
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
