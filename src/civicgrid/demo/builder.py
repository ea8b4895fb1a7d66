"""Writes the demo plan to the database, step by step, idempotently.

Every step upserts by natural key (area/compound/building/household/segment/department
code, username, the ID-number blind index for residents) and commits on its own, so an
interrupted build is completed, never duplicated, by running the command again. The
district row carries a marker (``properties["demo"]``) with the seed and size; a complete
build with the same parameters is detected and skipped. One audit record per step."""

from __future__ import annotations

import io
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department, User
from civicgrid.accounts.permissions import ROLE_CAPABILITIES, Capability
from civicgrid.accounts.scope import code_range_q
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cases.aggregates import case_aggregates_refresh
from civicgrid.common.errors import DomainError
from civicgrid.common.protected import digest
from civicgrid.demo import data
from civicgrid.demo.cameras import build_cameras
from civicgrid.demo.cases import build_cases
from civicgrid.demo.indicators import build_indicators
from civicgrid.demo.patrols import build_demo_patrols
from civicgrid.demo.plan import TerritoryPlan, plan_territory
from civicgrid.demo.population import plan_residents
from civicgrid.demo.staff import StaffPlan, UserSpec, plan_staff
from civicgrid.people.models import Person
from civicgrid.people.services import PersonRow, person_bulk_create
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import (
    Area,
    BoundaryVersion,
    Building,
    Compound,
    Duty,
    Household,
    Responsibility,
    RoadSegment,
)

MARKER_VERSION = 1
DEFAULT_SEED = 2026
BATCH = 2000
STEPS = [
    "迁移数据库",
    "辖区: 区/街道/社区/网格",
    "小区/楼栋/户",
    "路段",
    "联动部门",
    "账号",
    "居民",
    "人口与户数汇总",
    "案件 (半年)",  # cases helper: demo/cases.py
    "区级指标",  # demo/indicators.py
    "视频探头",  # demo/cameras.py
    "巡查 (近7天)",  # demo/patrols.py
    "统计汇总",  # the metrics aggregates (cases/aggregates.py)
]
# The steps that top up a build (each idempotent), also run when the rest is complete.
FINISHING_STEPS = 4
ID_CONTEXT = "people.person.id_number"


class DemoBuildError(DomainError):
    """The database holds something the demo must not overwrite."""


@dataclass
class BuildResult:
    seed: int
    residents: int
    skipped: bool
    counts: dict[str, int]
    accounts: list[UserSpec] = field(default_factory=list)
    seconds: float = 0.0


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


class Progress:
    """Prints "[k/N] label done/total" lines: redrawn in place on a terminal, otherwise
    one line per quarter and one at the end."""

    def __init__(self, out: TextIO, total_steps: int = len(STEPS)) -> None:
        self.out = out
        self.total_steps = total_steps
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.index = 0
        self.label = ""
        self.started = 0.0
        self._last_quarter = -1

    def step(self, label: str) -> None:
        self.index += 1
        self.label = label
        self.started = time.perf_counter()
        self._last_quarter = -1

    def update(self, done: int, total: int) -> None:
        line = f"[{self.index}/{self.total_steps}] {self.label} {done}/{total}"
        if self.tty:
            self.out.write("\r" + line)
            self.out.flush()
        else:
            quarter = 4 * done // total if total else 4
            if quarter != self._last_quarter and done < total:
                self._last_quarter = quarter
                self.out.write(line + "\n")

    def done(self, summary: str) -> None:
        elapsed = time.perf_counter() - self.started
        line = f"[{self.index}/{self.total_steps}] {self.label} {summary} ({elapsed:.1f}s)"
        self.out.write(("\r" + line + "\x1b[K\n") if self.tty else line + "\n")
        self.out.flush()


def _audit_step(key: str, label: str, changes: dict[str, Any], seed: int) -> None:
    audit_record(
        action=AuditAction.CREATE,
        object_type="demo.build",
        object_id=key,
        object_repr=f"演示数据: {label}",
        area_code=data.DISTRICT_CODE,
        changes=changes,
        message=f"civicgrid demo seed={seed}",
        actor_label="civicgrid demo",
    )


def _district_range(field_name: str) -> Any:
    return code_range_q(field_name, data.DISTRICT_CODE)


def _marker(seed: int, residents: int, complete: bool) -> dict[str, Any]:
    return {"version": MARKER_VERSION, "seed": seed, "residents": residents, "complete": complete}


def check_existing(seed: int, residents: int) -> bool:
    """True when a complete build with these parameters exists. Raises DemoBuildError
    when the district holds non-demo data or a demo built with other parameters."""
    district = Area.objects.filter(code=data.DISTRICT_CODE).first()
    if district is None:
        return False
    marker = (district.properties or {}).get("demo")
    if not isinstance(marker, dict):
        raise DemoBuildError(
            "数据库中已有玉泉区(150104)的非演示数据, 演示构建不会覆盖它。请使用一个空数据库 (设置 DATABASE_URL)。",
            code="demo_foreign_data",
        )
    if marker.get("seed") != seed or marker.get("residents") != residents:
        raise DemoBuildError(
            f"数据库中已有用 --seed {marker.get('seed')} --residents {marker.get('residents')} 构建的演示数据。"
            "请使用相同参数重新运行, 或删除数据库 (var/civicgrid.sqlite3) 后重建。",
            code="demo_other_parameters",
        )
    return bool(marker.get("complete"))


# --- Steps ---------------------------------------------------------------------------


def _decimal(value: float) -> Decimal:
    return Decimal(f"{value:.4f}")


def build_areas(plan: TerritoryPlan, progress: Progress) -> dict[str, int]:
    specs = plan.areas
    existing = {a.code: a for a in Area.objects.filter(_district_range("code"))}
    by_code: dict[str, Area] = dict(existing)
    created = updated = 0
    done = 0
    for level in (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID):
        new: list[Area] = []
        changed: list[Area] = []
        for spec in (s for s in specs if s.level == level):
            parent = by_code[spec.parent_code] if spec.parent_code else None
            values = {
                "name": spec.name,
                "level": spec.level,
                "street_kind": spec.street_kind,
                "parent_id": parent.pk if parent else None,
                "geometry": spec.geometry,
                "area_km2": _decimal(spec.area_km2),
            }
            area = existing.get(spec.code)
            if area is None:
                area = Area(code=spec.code, properties={}, **values)
                new.append(area)
                by_code[spec.code] = area
            elif any(getattr(area, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(area, k, v)
                changed.append(area)
        Area.objects.bulk_create(new, batch_size=BATCH)
        Area.objects.bulk_update(
            changed, ["name", "level", "street_kind", "parent", "geometry", "area_km2"], batch_size=BATCH
        )
        created += len(new)
        updated += len(changed)
        done += sum(1 for s in specs if s.level == level)
        progress.update(done, len(specs))
    district = by_code[data.DISTRICT_CODE]
    if not isinstance(district.properties.get("demo"), dict):
        district.properties = {**district.properties, "demo": _marker(plan.seed, plan.residents, False)}
        district.save(update_fields=["properties", "updated_at"])
    if created or updated:
        _boundaries_changed()
    return {"created": created, "updated": updated, "total": len(specs)}


def _boundaries_changed() -> None:
    try:
        from civicgrid.territory.signals import boundaries_changed
    except ImportError:  # pragma: no cover - older territory app
        BoundaryVersion.objects.get_or_create(pk=1)
        from django.db.models import F

        BoundaryVersion.objects.filter(pk=1).update(version=F("version") + 1)
    else:
        boundaries_changed()


def _codes_to_pk(model: Any) -> dict[str, int]:
    return dict(model.objects.filter(_district_range("area_code")).values_list("code", "pk"))


def build_housing(plan: TerritoryPlan, progress: Progress) -> dict[str, int]:
    grid_pk = dict(Area.objects.filter(_district_range("code"), level=AreaLevel.GRID).values_list("code", "pk"))
    total = len(plan.compounds) + len(plan.buildings) + len(plan.households)
    done = 0

    have = _codes_to_pk(Compound)
    new_c = [
        Compound(
            grid_id=grid_pk[c.grid_code],
            area_code=c.grid_code,
            code=c.code,
            name=c.name,
            address=c.address,
            geometry=c.geometry,
            has_property_management=c.has_property_management,
        )
        for c in plan.compounds
        if c.code not in have
    ]
    Compound.objects.bulk_create(new_c, batch_size=BATCH)
    done += len(plan.compounds)
    progress.update(done, total)

    compound_pk = _codes_to_pk(Compound)
    have = _codes_to_pk(Building)
    new_b = [
        Building(
            compound_id=compound_pk[b.compound_code],
            grid_id=grid_pk[b.grid_code],
            area_code=b.grid_code,
            code=b.code,
            name=b.name,
            floors=b.floors,
            units=b.units,
            geometry=b.geometry,
        )
        for b in plan.buildings
        if b.code not in have
    ]
    Building.objects.bulk_create(new_b, batch_size=BATCH)
    done += len(plan.buildings)
    progress.update(done, total)

    building_pk = _codes_to_pk(Building)
    have = _codes_to_pk(Household)
    new_h = [
        Household(
            building_id=building_pk[h.building_code], area_code=h.grid_code, code=h.code, unit=h.unit, room=h.room
        )
        for h in plan.households
        if h.code not in have
    ]
    for start in range(0, len(new_h), BATCH):
        Household.objects.bulk_create(new_h[start : start + BATCH], batch_size=BATCH)
        progress.update(done + min(start + BATCH, len(new_h)), total)
    return {"compounds": len(new_c), "buildings": len(new_b), "households": len(new_h)}


def build_roads(plan: TerritoryPlan, progress: Progress) -> dict[str, int]:
    street_pk = dict(
        Area.objects.filter(level=AreaLevel.STREET, code__in=[s.code for s in plan.streets]).values_list("code", "pk")
    )
    grid_pk = dict(Area.objects.filter(_district_range("code"), level=AreaLevel.GRID).values_list("code", "pk"))
    existing = {r.code: r for r in RoadSegment.objects.filter(_district_range("area_code"))}
    new: list[RoadSegment] = []
    changed: list[RoadSegment] = []
    for spec in plan.roads:
        values = {
            "street_id": street_pk[spec.street_code],
            "area_code": spec.street_code,
            "name": spec.name,
            "geometry": spec.geometry,
            "length_m": spec.length_m,
        }
        road = existing.get(spec.code)
        if road is None:
            new.append(RoadSegment(code=spec.code, **values))
        elif any(getattr(road, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(road, k, v)
            changed.append(road)
    RoadSegment.objects.bulk_create(new, batch_size=BATCH)
    RoadSegment.objects.bulk_update(changed, ["street", "area_code", "name", "geometry", "length_m"])
    road_pk = dict(RoadSegment.objects.filter(_district_range("area_code")).values_list("code", "pk"))
    through = RoadSegment.grids.through
    have = set(
        through.objects.filter(roadsegment_id__in=list(road_pk.values())).values_list("roadsegment_id", "area_id")
    )
    links = [
        through(roadsegment_id=road_pk[spec.code], area_id=grid_pk[g])
        for spec in plan.roads
        for g in spec.grid_codes
        if (road_pk[spec.code], grid_pk[g]) not in have
    ]
    through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)
    progress.update(len(plan.roads), len(plan.roads))
    return {"created": len(new), "updated": len(changed), "grid_links": len(links)}


def build_departments(staff: StaffPlan, progress: Progress) -> dict[str, int]:
    area_pk = dict(Area.objects.filter(_district_range("code")).values_list("code", "pk"))
    existing = set(
        Department.objects.filter(code__in=[d.code for d in staff.departments]).values_list("code", flat=True)
    )
    new = [
        Department(code=d.code, name=d.name, kind=d.kind, area_id=area_pk[d.area_code], phone=d.phone)
        for d in staff.departments
        if d.code not in existing
    ]
    Department.objects.bulk_create(new)
    progress.update(len(staff.departments), len(staff.departments))
    return {"created": len(new), "total": len(staff.departments)}


def build_accounts(staff: StaffPlan, progress: Progress) -> dict[str, int]:
    password_validation.validate_password(data.DEMO_PASSWORD)
    area_pk = dict(Area.objects.filter(_district_range("code")).values_list("code", "pk"))
    existing = set(
        User.objects.filter(username__in=[u.username for u in staff.users]).values_list("username", flat=True)
    )
    now = timezone.now()
    demo_hash = ""
    new: list[User] = []
    for spec in staff.users:
        if spec.username in existing:
            continue
        user = User(
            username=spec.username,
            display_name=spec.display_name,
            role=spec.role,
            area_id=area_pk[spec.area_code],
            mobile=spec.mobile,
            is_demo=True,
            is_active=True,
            is_staff=Capability.USE_ADMIN in ROLE_CAPABILITIES.get(spec.role, frozenset()),
            password_changed_at=now,
        )
        if spec.is_printed_demo:
            demo_hash = demo_hash or make_password(data.DEMO_PASSWORD)  # one argon2 hash, reused
            user.password = demo_hash
        else:
            user.set_unusable_password()  # activated later by an administrator
        new.append(user)
    User.objects.bulk_create(new, batch_size=BATCH)
    progress.update(len(staff.users), len(staff.users))

    # Department membership of the handlers.
    user_pk = dict(
        User.objects.filter(username__in=[u.username for u in staff.users if u.departments]).values_list(
            "username", "pk"
        )
    )
    dept_pk = dict(Department.objects.filter(code__in=[d.code for d in staff.departments]).values_list("code", "pk"))
    through = User.departments.through
    links = [
        through(user_id=user_pk[u.username], department_id=dept_pk[code]) for u in staff.users for code in u.departments
    ]
    through.objects.bulk_create(links, ignore_conflicts=True)

    # Duties: grid chiefs and area chiefs own grids, road chiefs own road segments.
    duty_of: dict[str, Duty] = {
        Role.GRID_CHIEF: Duty.GRID_CHIEF,
        Role.AREA_CHIEF: Duty.AREA_CHIEF,
        Role.ROAD_CHIEF: Duty.ROAD_CHIEF,
    }
    owners = [u for u in staff.users if u.role in duty_of and u.owns]
    owner_pk = dict(User.objects.filter(username__in=[u.username for u in owners]).values_list("username", "pk"))
    area_rows = {
        code: (pk, code) for code, pk in Area.objects.filter(_district_range("code")).values_list("code", "pk")
    }
    road_rows = {c: (pk, ac) for c, pk, ac in RoadSegment.objects.values_list("code", "pk", "area_code")}
    duties = []
    for u in owners:
        for code in u.owns:
            if u.role == Role.ROAD_CHIEF:
                target_pk, area_code = road_rows[code]
                duties.append(
                    Responsibility(
                        user_id=owner_pk[u.username],
                        duty=duty_of[u.role],
                        road_segment_id=target_pk,
                        area_code=area_code,
                    )
                )
            else:
                target_pk, area_code = area_rows[code]
                duties.append(
                    Responsibility(
                        user_id=owner_pk[u.username], duty=duty_of[u.role], area_id=target_pk, area_code=area_code
                    )
                )
    Responsibility.objects.bulk_create(duties, batch_size=BATCH, ignore_conflicts=True)
    return {"created": len(new), "total": len(staff.users)}


def build_residents(plan: TerritoryPlan, progress: Progress) -> dict[str, int]:
    grids = {a.code: a for a in Area.objects.filter(_district_range("code"), level=AreaLevel.GRID)}
    # One unsaved stand-in per row id is enough for the foreign keys of bulk_create.
    buildings = {code: Building(pk=pk) for code, pk in _codes_to_pk(Building).items()}
    households = {code: Household(pk=pk) for code, pk in _codes_to_pk(Household).items()}
    existing = set(Person.objects.filter(_district_range("area_code")).values_list("id_number_digest", flat=True))
    total = sum(plan.community_residents.values())

    def rows() -> Iterable[PersonRow]:
        for spec in plan_residents(plan):
            if existing and digest("id_number", spec.id_number, context=ID_CONTEXT) in existing:
                continue
            yield PersonRow(
                name=spec.name,
                id_number=spec.id_number,
                grid=grids[spec.grid_code],
                phone=spec.phone,
                registered_address=spec.registered_address,
                current_address=spec.current_address,
                building=buildings[spec.building_code],
                household=households[spec.household_code],
                ethnicity=spec.ethnicity,
                political_status=spec.political_status,
                residence_type=spec.residence_type,
                relation_to_head=spec.relation_to_head,
                tags=spec.tags,
            )

    already = len(existing)
    created = 0
    if already < total:
        created = person_bulk_create(
            rows=rows(), batch_size=BATCH, progress=lambda n: progress.update(min(total, already + n), total)
        )
    progress.update(total, total)
    return {"created": created, "existing": already}


def build_totals(progress: Progress) -> dict[str, int]:
    """Population and households of every node from the rows themselves, summed up the tree."""
    people = dict(
        Person.objects.filter(_district_range("area_code"), is_active=True)
        .values("area_code")
        .annotate(n=Count("id"))
        .values_list("area_code", "n")
    )
    homes = dict(
        Household.objects.filter(_district_range("area_code"))
        .values("area_code")
        .annotate(n=Count("id"))
        .values_list("area_code", "n")
    )
    areas = list(Area.objects.filter(_district_range("code")))
    children: dict[int | None, list[Area]] = defaultdict(list)
    for area in areas:
        children[area.parent_id].append(area)

    def total(area: Area) -> tuple[int, int]:
        pop, hh = people.get(area.code, 0), homes.get(area.code, 0)
        for child in children.get(area.pk, []):
            p, h = total(child)
            pop, hh = pop + p, hh + h
        area.population, area.households = pop, hh
        return pop, hh

    district = next(a for a in areas if a.code == data.DISTRICT_CODE)
    pop, hh = total(district)
    Area.objects.bulk_update(areas, ["population", "households"], batch_size=BATCH)
    progress.update(len(areas), len(areas))
    return {"population": pop, "households": hh}


def _complete_cases(seed: int, progress: Progress) -> None:
    """The cases step alone, for a complete build made before it existed (idempotent)."""
    progress.index = len(STEPS) - 1
    progress.step(STEPS[8])
    with transaction.atomic():
        result = build_cases(seed=seed, progress=progress.update)
        if result["created"]:
            _audit_step("cases", STEPS[8], result, seed)
    progress.done(f"新增 {result['created']} 件 (已有 {result['existing']} 件)")


# --- The whole build -------------------------------------------------------------------


def current_counts() -> dict[str, int]:
    areas = dict(
        Area.objects.filter(_district_range("code")).values("level").annotate(n=Count("id")).values_list("level", "n")
    )
    return {
        "streets": areas.get(AreaLevel.STREET, 0),
        "communities": areas.get(AreaLevel.COMMUNITY, 0),
        "grids": areas.get(AreaLevel.GRID, 0),
        "compounds": Compound.objects.filter(_district_range("area_code")).count(),
        "buildings": Building.objects.filter(_district_range("area_code")).count(),
        "households": Household.objects.filter(_district_range("area_code")).count(),
        "road_segments": RoadSegment.objects.filter(_district_range("area_code")).count(),
        "departments": Department.objects.filter(area__code__startswith=data.DISTRICT_CODE).count(),
        "accounts": User.objects.filter(is_demo=True).count(),
        "residents": Person.objects.filter(_district_range("area_code")).count(),
    }


def _finish(seed: int, progress: Progress) -> None:
    """The last steps (idempotent; each tops up what is missing and says so in one line):
    the report's indicators, cameras in all 58 communities, the last week's patrols, and a
    full refresh of the metrics aggregates (bulk-made cases are older than their watermark)."""

    def aggregates(_out: TextIO) -> None:
        result = case_aggregates_refresh(full=True)
        _out.write(f"{result.rows} 行 ({result.days} 天)")

    runs: list[Callable[[TextIO], object]] = [
        lambda o: build_indicators(seed=seed, out=o),
        lambda o: build_cameras(seed=seed, out=o),
        lambda o: build_demo_patrols(seed=seed, out=o),
        aggregates,
    ]
    for label, run in zip(STEPS[-FINISHING_STEPS:], runs, strict=True):
        progress.step(label)
        summary = io.StringIO()
        run(summary)
        progress.done(summary.getvalue().strip().removeprefix(label).lstrip(":： "))


def build_demo(
    *,
    seed: int = DEFAULT_SEED,
    residents: int = 20000,
    out: TextIO | None = None,
    migrate: bool = True,
    stop_after: str | None = None,
) -> BuildResult:
    """Build (or complete) the Yuquan demo district. ``stop_after`` (a step key:
    areas, housing, roads, departments, accounts, residents) stops early, to test
    the completion of a partial build."""
    out = out or sys.stdout
    started = time.perf_counter()
    progress = Progress(out)
    progress.step(STEPS[0])
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
        progress.done("完成")
    else:
        progress.done("跳过")

    if residents < 0:
        raise DemoBuildError("居民人数不能为负数。", code="demo_residents")
    if check_existing(seed, residents):
        out.write(f"演示数据已完整 (seed={seed}, 居民 {residents} 人), 跳过构建。\n")
        _complete_cases(seed, progress)  # a build from before the cases step gets its cases
        progress.index = len(STEPS) - FINISHING_STEPS
        _finish(seed, progress)
        staff = plan_staff(plan_territory(seed, residents), seed)
        return BuildResult(
            seed=seed,
            residents=residents,
            skipped=True,
            counts=current_counts(),
            accounts=staff.demo_accounts(),
            seconds=time.perf_counter() - started,
        )

    plan = plan_territory(seed, residents)
    staff = plan_staff(plan, seed)
    steps: list[tuple[str, str, Callable[[], dict[str, int]], Callable[[dict[str, int]], str]]] = [
        (
            "areas",
            STEPS[1],
            lambda: build_areas(plan, progress),
            lambda r: f"{r['total']} 个 (新增 {r['created']}, 更新 {r['updated']})",
        ),
        (
            "housing",
            STEPS[2],
            lambda: build_housing(plan, progress),
            lambda r: (
                f"{len(plan.compounds)}/{len(plan.buildings)}/{len(plan.households)} "
                f"(新增 {r['compounds']}/{r['buildings']}/{r['households']})"
            ),
        ),
        (
            "roads",
            STEPS[3],
            lambda: build_roads(plan, progress),
            lambda r: f"{len(plan.roads)} 段 (新增 {r['created']})",
        ),
        (
            "departments",
            STEPS[4],
            lambda: build_departments(staff, progress),
            lambda r: f"{r['total']} 个 (新增 {r['created']})",
        ),
        (
            "accounts",
            STEPS[5],
            lambda: build_accounts(staff, progress),
            lambda r: f"{r['total']} 个 (新增 {r['created']})",
        ),
        (
            "residents",
            STEPS[6],
            lambda: build_residents(plan, progress),
            lambda r: f"{residents} 人 (新增 {r['created']})",
        ),
        (
            "totals",
            STEPS[7],
            lambda: build_totals(progress),
            lambda r: f"人口 {r['population']}, 户数 {r['households']}",
        ),
        (
            "cases",
            STEPS[8],
            lambda: build_cases(seed=seed, progress=progress.update),
            lambda r: f"新增 {r['created']} 件, 动态 {r['events']} 条 (已有 {r['existing']} 件)",
        ),
    ]
    for key, label, run, describe in steps:
        progress.step(label)
        with transaction.atomic():
            result = run()
            if key != "residents":  # person_bulk_create writes its own audit record
                _audit_step(key, label, result, seed)
        progress.done(describe(result))
        if key == stop_after:
            return BuildResult(
                seed=seed,
                residents=residents,
                skipped=False,
                counts=current_counts(),
                accounts=staff.demo_accounts(),
                seconds=time.perf_counter() - started,
            )

    _finish(seed, progress)
    with transaction.atomic():
        district = Area.objects.select_for_update().get(code=data.DISTRICT_CODE)
        district.properties = {**district.properties, "demo": _marker(seed, residents, True)}
        district.save(update_fields=["properties", "updated_at"])
    return BuildResult(
        seed=seed,
        residents=residents,
        skipped=False,
        counts=current_counts(),
        accounts=staff.demo_accounts(),
        seconds=time.perf_counter() - started,
    )


def format_accounts(accounts: list[UserSpec], url: str) -> str:
    """The closing table: the URL and one demo account per role."""
    rows = [("角色", "用户名", "密码", "说明")]
    rows += [(str(Role(u.role).label), u.username, data.DEMO_PASSWORD, u.demo_label) for u in accounts]
    widths = [max(display_width(str(r[i])) for r in rows) for i in range(4)]
    sep = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    lines = [
        "",
        f"CivicGrid 演示系统: {url}",
        "演示账号 (仅供演示, DEMO ONLY - 不得用于生产环境):",
        sep,
    ]
    for i, row in enumerate(rows):
        lines.append("| " + " | ".join(pad(str(c), w) for c, w in zip(row, widths, strict=True)) + " |")
        if i == 0:
            lines.append(sep)
    lines.append(sep)
    lines.append("其他账号(网格长、路长、片长等)为演示数据, 密码不可用, 需由管理员启用。")
    return "\n".join(lines) + "\n"
