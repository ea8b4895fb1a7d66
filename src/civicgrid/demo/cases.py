"""A realistic half-year of cases for the demo district, written fast and idempotently.

The report's district figure is 6017 cases received and 5940 closed (≈99%). ``build_cases``
plans exactly that many (deterministic from the seed: one ``random.Random`` stream; the
timestamps count back from an anchor, by default the build day's local midnight), across
the catalogue's classes (disputes, hazards, livelihood services, city-management events and
components) and channels (mostly the 960116 hotline), at random points inside the grid
polygons, handled by the grid's chief or the nearest department of the category's kind:
received -> registered -> dispatched -> signed for within hours -> reported -> closed
within days -> a follow-up evaluation (≈95% satisfied) for most; a few are sent back
(verification failed) or reopened, a few closed late, and the 77 still open are the most
recent ones (some of them overdue).

Cases and their timeline events are bulk-inserted with precomputed timestamps (no workflow
calls, no per-case audit: the builder writes one audit record for the step). Each case's
``idempotency_key`` is ``demo:<seed>:<n>``: cases already present are skipped."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from shapely.geometry import shape

from civicgrid.accounts.enums import DepartmentKind
from civicgrid.accounts.models import Department
from civicgrid.accounts.scope import code_range_q
from civicgrid.cases.enums import AssistStatus, Channel, Outcome, TargetKind, Tier
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import TRACKING_ALPHABET, TRACKING_LENGTH, Case, CaseAssist, CaseEvent, Category
from civicgrid.common.protected import protect
from civicgrid.demo import data
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area, Duty, Responsibility

RECEIVED = 6017
CLOSED = 5940
DAYS = 182
BATCH = 2000
PHONE_CONTEXT = "cases.case.reporter_phone"

# Share of cases by top-level class (report: disputes, hazards, livelihood; GB/T 30428 events
# and components for city management).
CLASS_WEIGHTS: dict[str, float] = {
    "MD": 0.17,
    "ZA": 0.06,
    "MS": 0.30,
    "SJ01": 0.12,
    "SJ02": 0.03,
    "SJ03": 0.05,
    "SJ04": 0.06,
    "SJ05": 0.08,
    "BJ01": 0.06,
    "BJ02": 0.02,
    "BJ03": 0.02,
    "BJ04": 0.02,
    "BJ05": 0.01,
}
CHANNEL_WEIGHTS: list[tuple[str, float]] = [
    (Channel.HOTLINE, 0.72),
    (Channel.PATROL, 0.12),
    (Channel.RESIDENT_WEB, 0.07),
    (Channel.WALK_IN, 0.06),
    (Channel.CAMERA, 0.03),
]
DESCRIPTIONS = (
    "市民来电反映{place}{what}, 已持续数日, 希望尽快处理。",
    "{place}{what}, 影响周边居民正常生活, 请相关部门核实处置。",
    "网格员巡查发现{place}{what}, 需协调处置。",
    "居民反映{place}{what}, 多次协商未果, 请求帮助。",
)


@dataclass
class _Target:
    handler_id: int | None
    department_id: int | None
    tier: str


def _weighted(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    total = sum(w for _i, w in items)
    x = rng.random() * total
    for item, w in items:
        x -= w
        if x <= 0:
            return item
    return items[-1][0]


def _tracking(rng: random.Random) -> str:
    return "".join(rng.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def default_anchor() -> dt.datetime:
    tz = ZoneInfo(settings.TIME_ZONE)
    return dt.datetime.combine(timezone.localdate(), dt.time.min, tzinfo=tz)


def _point_in(rng: random.Random, geom: Any) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(200):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(shapely.Point(x, y)):
            return round(x, 6), round(y, 6)
    c = geom.representative_point()
    return round(c.x, 6), round(c.y, 6)


def _received_times(rng: random.Random, anchor: dt.datetime, n: int) -> list[dt.datetime]:
    """Receipt times over the half-year: daytime-heavy hours, fewer calls at weekends."""
    start = anchor - dt.timedelta(days=DAYS)
    hours = [(h, 0.3 if h < 7 else 1.6 if 8 <= h <= 11 or 14 <= h <= 17 else 0.9 if h < 22 else 0.4) for h in range(24)]
    out = []
    for _ in range(n):
        while True:
            day = rng.randrange(DAYS)
            weekday = (start + dt.timedelta(days=day)).weekday()
            if weekday < 5 or rng.random() < 0.7:
                break
        hour = _weighted(rng, hours)
        out.append(start + dt.timedelta(days=day, hours=hour, seconds=rng.randrange(3600)))
    out.sort()
    return out


def build_cases(
    *, seed: int, anchor: dt.datetime | None = None, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Insert the demo's half-year of cases (missing ones only); returns counts."""
    anchor = anchor or default_anchor()
    prefix = f"demo:{seed}:"
    existing = set(Case.objects.filter(idempotency_key__startswith=prefix).values_list("idempotency_key", flat=True))
    if len(existing) >= RECEIVED:
        return {"created": 0, "events": 0, "existing": len(existing)}
    rng = random.Random(f"civicgrid-demo:{seed}:cases")

    grids = list(
        Area.objects.filter(code_range_q("code", data.DISTRICT_CODE), level=AreaLevel.GRID)
        .select_related("parent")
        .order_by("code")
    )
    if not grids:
        return {"created": 0, "events": 0, "existing": len(existing)}
    shapes = {g.pk: shape(g.geometry) for g in grids}
    chiefs = dict(
        Responsibility.objects.filter(duty=Duty.GRID_CHIEF, area__isnull=False)
        .order_by("user_id")
        .values_list("area_id", "user_id")
    )
    depts: dict[str, list[tuple[str, int, int | None]]] = {}
    for d in Department.objects.filter(is_active=True).select_related("area").prefetch_related("members"):
        member = next((u.pk for u in d.members.all() if u.is_active), None)
        depts.setdefault(d.kind, []).append((d.area.code, d.pk, member))
    top = {c.code: c for c in Category.objects.filter(parent__isnull=True, is_active=True)}
    leaves: dict[str, list[Category]] = {}
    for c in Category.objects.filter(parent__isnull=False, is_active=True).select_related("parent"):
        assert c.parent is not None
        leaves.setdefault(c.parent.code, []).append(c)
    classes = [(code, w) for code, w in CLASS_WEIGHTS.items() if code in top and leaves.get(code)]

    def target_for(cat: Category, grid: Area) -> _Target:
        chief = chiefs.get(grid.pk)
        if cat.handling == TargetKind.DEPARTMENT_KIND and cat.department_kind in depts:
            options = [o for o in depts[cat.department_kind] if grid.code.startswith(o[0])]
            if options:
                code, dept_id, member = max(options, key=lambda o: len(o[0]))
                if member is not None:
                    tier = Tier.STREET if len(code) == 9 else Tier.DISTRICT if len(code) == 6 else Tier.COMMUNITY
                    return _Target(member, dept_id, tier)
        return _Target(chief, None, Tier.GRID)

    # Callers: a pool, a few of whom call again (repeat complaints).
    callers = [f"13{rng.randrange(3, 10)}{rng.randrange(10**8):08d}" for _ in range(4200)]
    protected_cache: dict[str, Any] = {}
    times = _received_times(rng, anchor, RECEIVED)
    open_idx = set(range(RECEIVED - (RECEIVED - CLOSED), RECEIVED))  # the most recent are open
    cases: list[Case] = []
    plans: list[list[tuple[str, str, str, dt.datetime, str]]] = []
    for n, received in enumerate(times):
        key = f"{prefix}{n}"
        cls = _weighted(rng, classes)
        cat = rng.choice(leaves[cls])
        priority = cat.priority
        hours = cat.hours_for(priority)
        grid = rng.choice(grids)
        lon, lat = _point_in(rng, shapes[grid.pk])
        channel = _weighted(rng, CHANNEL_WEIGHTS)
        phone = rng.choice(callers[:600]) if rng.random() < 0.08 else rng.choice(callers)
        if phone not in protected_cache:
            protected_cache[phone] = protect("phone", phone, context=PHONE_CONTEXT)
        p = protected_cache[phone]
        target = target_for(cat, grid)
        place = f"{grid.parent.name if grid.parent else ''}{grid.name}"
        what = cat.name
        registered = received + dt.timedelta(minutes=rng.uniform(1, 6))
        dispatched = registered + dt.timedelta(minutes=rng.uniform(0.5, 15))
        ack_span = hours["acknowledge"] * (rng.uniform(0.05, 0.8) if rng.random() < 0.96 else rng.uniform(1.05, 2.5))
        acknowledged = dispatched + dt.timedelta(hours=ack_span)
        close_span = hours["close"] * (rng.uniform(0.15, 0.85) if rng.random() < 0.94 else rng.uniform(1.02, 1.8))
        closed = received + dt.timedelta(hours=max(close_span, ack_span + 1))
        if n not in open_idx and closed >= anchor:
            # Closed before the anchor: squeeze the timeline into the time there was.
            closed = anchor - dt.timedelta(minutes=rng.uniform(5, 90))
            if acknowledged >= closed - dt.timedelta(minutes=30):
                acknowledged = dispatched + (closed - dispatched) * 0.3
        reported = closed - dt.timedelta(
            hours=rng.uniform(0.5, min(12.0, (closed - acknowledged).total_seconds() / 3600 * 0.5))
        )
        events: list[tuple[str, str, str, dt.datetime, str]] = [
            (A.RECEIVE, "", S.RECEIVED, received, ""),
            (A.REGISTER, S.RECEIVED, S.REGISTERED, registered, ""),
            (A.DISPATCH, S.REGISTERED, S.DISPATCHED, dispatched, "按派遣规则自动派遣"),
        ]
        fields: dict[str, Any] = {
            "registered_at": registered,
            "dispatched_at": dispatched,
            "acknowledge_due": dispatched + dt.timedelta(hours=hours["acknowledge"]),
            "handle_due": received + dt.timedelta(hours=hours["handle"]),
            "close_due": received + dt.timedelta(hours=hours["close"]),
            "current_handler_id": target.handler_id,
            "current_department_id": target.department_id,
            "current_tier": target.tier,
        }
        status = S.DISPATCHED
        if n in open_idx:
            # Still open: signed for and maybe reported, if that happened before the anchor.
            if acknowledged < anchor and target.handler_id:
                events.append((A.ACKNOWLEDGE, S.DISPATCHED, S.HANDLING, acknowledged, ""))
                fields["acknowledged_at"] = acknowledged
                status = S.HANDLING
                if reported < anchor and rng.random() < 0.4:
                    events.append((A.REPORT_BACK, S.HANDLING, S.REPORTED, reported, "已处置, 待核查"))
                    fields["reported_at"] = reported
                    status = S.REPORTED
            if fields["close_due"] < anchor:
                fields["overdue_at"] = fields["close_due"]
        else:
            events.append((A.ACKNOWLEDGE, S.DISPATCHED, S.HANDLING, acknowledged, ""))
            rehandle = rng.random() < 0.025
            if rehandle:
                first_report = acknowledged + (reported - acknowledged) * 0.4
                events.append((A.REPORT_BACK, S.HANDLING, S.REPORTED, first_report, "已处置"))
                events.append(
                    (
                        A.VERIFY_FAIL,
                        S.REPORTED,
                        S.HANDLING,
                        first_report + (reported - first_report) * 0.2,
                        "现场核查未整改到位",
                    )
                )
                fields["rehandle_count"] = 1
                fields["last_reopened_at"] = events[-1][3]
            events.append((A.REPORT_BACK, S.HANDLING, S.REPORTED, reported, "已处置完毕"))
            fixed = rng.random() < 0.97
            events.append((A.VERIFY_PASS, S.REPORTED, S.CLOSED, closed, "核查属实, 予以结案"))
            fields.update(
                acknowledged_at=acknowledged,
                reported_at=reported,
                closed_at=closed,
                outcome=Outcome.FIXED if fixed else Outcome.CLOSED_NOT_FIXED,
            )
            status = S.CLOSED
            evaluated = closed + dt.timedelta(hours=rng.uniform(4, 72))
            if evaluated < anchor and rng.random() < 0.8:
                satisfied = rng.random() < (0.965 if fixed else 0.4)
                score = rng.choice((4, 5, 5, 5)) if satisfied else rng.choice((1, 2, 3))
                resolved = fixed and (satisfied or rng.random() < 0.5)
                events.append((A.EVALUATE, S.CLOSED, S.EVALUATED, evaluated, f"回访满意度{score}分"))
                fields.update(satisfaction=score, resolved=resolved, evaluated_at=evaluated)
                status = S.EVALUATED
        if not target.handler_id:
            # No grid chief and no department member: the tier unit holds it.
            fields["current_unit_id"] = grid.parent_id
            fields["current_tier"] = Tier.COMMUNITY
        if status in (S.HANDLING, S.REPORTED) and not target.handler_id:
            status = S.DISPATCHED
            fields.pop("acknowledged_at", None)
            fields.pop("reported_at", None)
            events = events[:3]
        if key in existing:
            continue
        title = f"{what}: {place}"[:100]
        cases.append(
            Case(
                tracking_code=_tracking(rng),
                title=title,
                description=rng.choice(DESCRIPTIONS).format(place=place, what=what),
                category=cat,
                priority=priority,
                channel=channel,
                status=status,
                version=len(events),
                lon=lon,
                lat=lat,
                address=f"{place}附近",
                grid=grid,
                area_code=grid.code,
                reporter_name=rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(("先生", "女士")),
                reporter_phone_cipher=p.cipher,
                reporter_phone_masked=p.masked,
                reporter_phone_digest=p.digest,
                received_at=received,
                idempotency_key=key,
                created_at=received,
                updated_at=events[-1][3],
                **fields,
            )
        )
        plans.append(events)
    created = 0
    event_rows = 0
    for start in range(0, len(cases), BATCH):
        chunk = cases[start : start + BATCH]
        Case.objects.bulk_create(chunk, batch_size=BATCH)
        if any(c.pk is None for c in chunk):  # a backend without RETURNING: look the ids up
            ids = dict(
                Case.objects.filter(idempotency_key__in=[c.idempotency_key for c in chunk]).values_list(
                    "idempotency_key", "pk"
                )
            )
            for row in chunk:
                row.pk = ids[row.idempotency_key]
        rows = [
            CaseEvent(
                case_id=c.pk,
                action=action,
                from_status=frm,
                to_status=to,
                actor_id=None,
                actor_label="演示数据",
                note=note,
                area_code=c.area_code,
                occurred_at=when,
            )
            for c, events in zip(chunk, plans[start : start + BATCH], strict=True)
            for action, frm, to, when, note in events
        ]
        CaseEvent.objects.bulk_create(rows, batch_size=BATCH)
        created += len(chunk)
        event_rows += len(rows)
        if progress:
            progress(len(existing) + created, RECEIVED)
    joint = build_joint_cases(seed=seed, anchor=anchor) if created else 0
    return {"created": created, "events": event_rows, "existing": len(existing), "joint": joint}


# --- joint handling (联合处置): 清泉街's legal office and the street's police station -------------

JOINT_CASES = 12
DISPUTES = "MD"  # the 矛盾纠纷 class
JOINT_TEXTS = {
    DepartmentKind.LEGAL: ("请法务室提供法律咨询并参与调解", "已出具法律意见, 促成双方签订调解协议"),
    DepartmentKind.POLICE: ("请派出所民警到场维持秩序", "民警已到场, 现场秩序正常, 已做记录"),
}


def build_joint_cases(*, seed: int, anchor: dt.datetime) -> int:
    """A dozen recent 清泉街 disputes joint-handled by the legal office and the police station:
    parts done for cases reported back or closed, in progress for cases in handling (bulk rows
    with their timeline lines; idempotent). Returns the number of parts written."""
    prefix = f"demo:{seed}:"
    if CaseAssist.objects.filter(case__idempotency_key__startswith=prefix).exists():
        return 0
    legal = Department.objects.filter(kind=DepartmentKind.LEGAL, is_active=True).select_related("area").first()
    if legal is None:
        return 0
    community = legal.area.code
    police = (
        Department.objects.filter(kind=DepartmentKind.POLICE, is_active=True, area__code=community[:9])
        .select_related("area")
        .first()
    )
    departments = [d for d in (legal, police) if d is not None]
    members = {
        d.pk: next((u.pk for u in d.members.filter(is_active=True).order_by("pk")[:1]), None) for d in departments
    }
    cases = list(
        Case.objects.filter(
            idempotency_key__startswith=prefix,
            area_code__startswith=community,
            category__parent__code=DISPUTES,
            acknowledged_at__isnull=False,
            current_handler__isnull=False,
            status__in=(S.HANDLING, S.REPORTED, S.CLOSED, S.EVALUATED),
        )
        .select_related("category")
        .order_by("-received_at")[:JOINT_CASES]
    )
    parts: list[CaseAssist] = []
    plans: list[list[tuple[str, dt.datetime, str]]] = []
    for case in cases:
        assert case.acknowledged_at is not None
        start = case.acknowledged_at
        end = case.reported_at or anchor
        requested = start + (end - start) * 0.1
        due = requested + dt.timedelta(hours=case.category.hours_for(case.priority)["handle"])
        for n, dept in enumerate(departments):
            ask, answer = JOINT_TEXTS[DepartmentKind(dept.kind)]
            acknowledged = requested + (end - requested) * (0.2 + 0.1 * n)
            responded = requested + (end - requested) * (0.7 + 0.1 * n)
            in_handling = case.status == S.HANDLING
            # In handling: the legal office is at work, the police have not signed yet.
            status = (
                (AssistStatus.ACKNOWLEDGED if n == 0 else AssistStatus.REQUESTED) if in_handling else AssistStatus.DONE
            )
            steps: list[tuple[str, dt.datetime, str]] = [(A.ASSIST_REQUEST, requested, ask)]
            fields: dict[str, Any] = {}
            if status in (AssistStatus.ACKNOWLEDGED, AssistStatus.DONE):
                steps.append((A.ASSIST_ACKNOWLEDGE, acknowledged, ""))
                fields.update(acknowledged_at=acknowledged, acknowledged_by_id=members[dept.pk])
            if status == AssistStatus.DONE:
                steps.append((A.ASSIST_REPORT, responded, answer))
                fields.update(responded_at=responded, responded_by_id=members[dept.pk], response=answer)
            parts.append(
                CaseAssist(
                    case=case,
                    department=dept,
                    status=status,
                    version=len(steps),
                    area_code=case.area_code,
                    note=ask,
                    requested_by_id=case.current_handler_id,
                    requested_at=requested,
                    due_at=due,
                    updated_at=steps[-1][1],
                    **fields,
                )
            )
            plans.append(steps)
    CaseAssist.objects.bulk_create(parts, batch_size=BATCH)
    if any(p.pk is None for p in parts):  # a backend without RETURNING: look the ids up
        ids = {
            (c, d): pk
            for pk, c, d in CaseAssist.objects.filter(case__in=cases).values_list("pk", "case_id", "department_id")
        }
        for part in parts:
            part.pk = ids[(part.case_id, part.department_id)]
    events = [
        CaseEvent(
            case_id=part.case_id,
            action=action,
            from_status=S.HANDLING,
            to_status=S.HANDLING,
            is_transition=False,
            actor_id=None,
            actor_label="演示数据",
            note=note,
            data={
                "assist": {
                    "id": part.pk,
                    "department": {"id": part.department_id, "name": part.department.name},
                    "due_at": part.due_at.isoformat(),
                }
            },
            area_code=part.area_code,
            occurred_at=when,
        )
        for part, steps in zip(parts, plans, strict=True)
        for action, when, note in steps
    ]
    CaseEvent.objects.bulk_create(events, batch_size=BATCH)
    return len(parts)


def demo_case_counts(seed: int) -> dict[str, int]:
    qs = Case.objects.filter(idempotency_key__startswith=f"demo:{seed}:")
    return {"received": qs.count(), "closed": qs.filter(~Q(closed_at=None)).count()}
