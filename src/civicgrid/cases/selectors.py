"""Case reads. Everything goes through ``visible_cases(user)``: the user's territorial scope
(accounts.scope.scope_queryset on ``area_code``) plus the cases they hold themselves; a
department handler sees the cases of their departments (and those they hold), not the
whole territory their department serves. A member of a department asked to co-handle a case
(联合处置, ``CaseAssist``) may also read that case and its timeline - nothing else."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import Department
from civicgrid.accounts.permissions import has_capability
from civicgrid.accounts.scope import scope_queryset
from civicgrid.cases.enums import OPEN_ASSIST_STATUSES, OPEN_STATUSES, CaseStatus
from civicgrid.cases.models import Case, CaseAssist, CaseEvent, Category
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common.errors import NotFound
from civicgrid.common.protected import digest

PHONE_CONTEXT = "cases.case.reporter_phone"

INBOXES = ("to_register", "to_sign_for", "mine", "overdue", "to_verify", "to_follow_up", "manual_queue")
LIST_RELATED = ("category", "category__parent", "grid", "current_handler", "current_department", "current_unit")


def _department_ids(user: Any) -> list[int]:
    cached = getattr(user, "_case_department_ids", None)
    if cached is None:
        cached = set(user.departments.values_list("pk", flat=True))
        user._case_department_ids = cached
    return sorted(cached)


def _own_visible_cases(user: Any) -> QuerySet[Case]:
    """The cases ``user`` may read by territory, department or as their handler."""
    qs = Case.objects.all()
    if not has_capability(user, CaseCapability.VIEW):
        return qs.none()
    if str(user.role) == Role.DEPARTMENT_HANDLER:
        return qs.filter(Q(current_department_id__in=_department_ids(user)) | Q(current_handler_id=user.pk))
    return scope_queryset(user, qs) | qs.filter(current_handler_id=user.pk)


def _co_handled_q(user: Any) -> Q | None:
    """Cases one of the user's departments was asked to co-handle (an EXISTS, so a case with
    several parts is still one row: lists and metrics never count it twice)."""
    depts = _department_ids(user)
    if not depts:
        return None
    return Q(Exists(CaseAssist.objects.filter(case_id=OuterRef("pk"), department_id__in=depts)))


def visible_cases(user: Any) -> QuerySet[Case]:
    """Every case ``user`` may read."""
    qs = _own_visible_cases(user)
    if not has_capability(user, CaseCapability.VIEW):
        return qs
    co_handled = _co_handled_q(user)
    if co_handled is None:
        return qs
    return qs | Case.objects.filter(co_handled)


def user_department_ids(user: Any) -> list[int]:
    """The ids of the user's departments (cached on the user object for the request)."""
    return _department_ids(user)


def reads_only_as_co_handler(user: Any, case: Case) -> bool:
    """True when ``user`` reads ``case`` only because their department co-handles it (such a
    reader may see the case and its timeline and act on their part, nothing else)."""
    if not _department_ids(user):
        return False
    return not _own_visible_cases(user).filter(pk=case.pk).exists()


def _owned_q(user: Any) -> Q:
    """Cases the user holds or may sign for (as handler, department member or tier-unit staff)."""
    q = Q(current_handler_id=user.pk)
    depts = _department_ids(user)
    if depts:
        q |= Q(current_handler__isnull=True, current_department_id__in=depts)
    if user.area_id:
        q |= Q(current_handler__isnull=True, current_department__isnull=True, current_unit_id=user.area_id)
    return q


def inbox(user: Any, box: str) -> QuerySet[Case]:
    """One of the role inboxes, newest first (paginate it)."""
    if box not in INBOXES:
        raise NotFound(_("没有这个收件箱"))
    qs = visible_cases(user).select_related(*LIST_RELATED)
    if box == "to_register":
        if not has_capability(user, CaseCapability.INTAKE):
            return qs.none()
        return qs.filter(status=CaseStatus.RECEIVED).order_by("received_at", "id")
    if box == "to_sign_for":
        if not has_capability(user, CaseCapability.HANDLE):
            return qs.none()
        depts = _department_ids(user)
        pending_transfer = Q(status=CaseStatus.TRANSFER_PENDING, current_department_id__in=depts)
        return qs.filter((Q(status=CaseStatus.DISPATCHED) & _owned_q(user)) | pending_transfer).order_by(
            "acknowledge_due", "id"
        )
    if box == "mine":
        return qs.filter(
            current_handler_id=user.pk, status__in=[CaseStatus.DISPATCHED, CaseStatus.HANDLING, CaseStatus.REPORTED]
        ).order_by("-received_at", "-id")
    if box == "overdue":
        return qs.filter(status__in=OPEN_STATUSES, overdue_at__isnull=False).order_by("handle_due", "id")
    if box == "to_verify":
        if not has_capability(user, CaseCapability.VERIFY):
            return qs.none()
        return qs.filter(status=CaseStatus.REPORTED).order_by("reported_at", "id")
    if box == "to_follow_up":
        if not has_capability(user, CaseCapability.VERIFY):
            return qs.none()
        return qs.filter(status=CaseStatus.CLOSED).order_by("closed_at", "id")
    # manual_queue
    if not has_capability(user, CaseCapability.DISPATCH):
        return qs.none()
    return qs.filter(status=CaseStatus.REGISTERED, in_manual_queue=True).order_by("registered_at", "id")


def inbox_counts(user: Any, boxes: Iterable[str] = INBOXES) -> dict[str, int]:
    return {box: inbox(user, box).count() for box in boxes}


def case_get(user: Any, pk: int) -> Case:
    """One case the user may read (404 otherwise, so existence does not leak)."""
    case = visible_cases(user).select_related(*LIST_RELATED, "duplicate_of", "created_by").filter(pk=pk).first()
    if case is None:
        raise NotFound(_("案件不存在或不在您的辖区范围内"))
    case._visible_to = user.pk  # type: ignore[attr-defined]  # checked: timeline() need not ask again
    return case


def case_by_tracking_code(tracking_code: str) -> Case:
    """The public tracking page: a case by its tracking code (hidden cases are not shown)."""
    code = (tracking_code or "").strip().upper()
    case = (
        Case.objects.select_related("category", "category__parent", "grid", "current_department")
        .filter(tracking_code=code, is_hidden=False)
        .first()
    )
    if case is None:
        raise NotFound(_("查询码不存在"))
    return case


def timeline(user: Any, case: Case | int) -> QuerySet[CaseEvent]:
    """A case's events, oldest first (the case must be visible to the user)."""
    pk = case if isinstance(case, int) else case.pk
    if isinstance(case, int) or getattr(case, "_visible_to", None) != getattr(user, "pk", None):
        case_get(user, pk)
    return CaseEvent.objects.filter(case_id=pk).select_related("actor").order_by("occurred_at", "id")


def public_timeline(case: Case) -> QuerySet[CaseEvent]:
    """The events a resident sees on the tracking page: transitions only, no staff notes."""
    return CaseEvent.objects.filter(case=case, is_transition=True).order_by("occurred_at", "id")


def category_tree(*, public_only: bool = False) -> list[tuple[Category, list[Category]]]:
    """Active top-level categories with their active children (two queries)."""
    qs = Category.objects.filter(is_active=True)
    if public_only:
        qs = qs.filter(is_public=True)
    items = list(qs.order_by("sort_order", "code"))
    children: dict[int, list[Category]] = {}
    for c in items:
        if c.parent_id:
            children.setdefault(c.parent_id, []).append(c)
    return [(c, children.get(c.pk, [])) for c in items if c.parent_id is None]


def case_find_by_caller_phone(user: Any, phone: str, *, limit: int = 50) -> list[Case]:
    """The caller's earlier cases (hotline console), found by the phone's blind index."""
    if not has_capability(user, CaseCapability.VIEW):
        raise PermissionDenied(_("您没有查看案件的权限"))
    key = digest("phone", phone or "", context=PHONE_CONTEXT)
    if not key:
        return []
    qs = visible_cases(user).filter(reporter_phone_digest=key).select_related(*LIST_RELATED)
    return list(qs.order_by("-received_at", "-id")[:limit])


@dataclass(frozen=True)
class PossibleDuplicate:
    case: Case
    distance_m: float | None
    similarity: float


def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in text.lower() if not ch.isspace())
    return {text[i : i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def text_similarity(a: str, b: str) -> float:
    """0..1: the larger of a character-bigram Dice coefficient and difflib's ratio (works for
    Chinese, which has no word boundaries)."""
    if not a or not b:
        return 0.0
    ga, gb = _bigrams(a), _bigrams(b)
    dice = 2 * len(ga & gb) / (len(ga) + len(gb)) if ga and gb else 0.0
    ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return max(dice, ratio)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in metres."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def case_possible_duplicates(
    user: Any,
    *,
    category: Category | int | None,
    lon: float | None,
    lat: float | None,
    text: str,
    exclude: int | None = None,
    limit: int = 10,
) -> list[PossibleDuplicate]:
    """Open cases of the same category, within CASES_DUPLICATE_RADIUS_M metres (when a
    location is given), whose text is similar (>= CASES_DUPLICATE_MIN_SIMILARITY)."""
    radius = float(getattr(settings, "CASES_DUPLICATE_RADIUS_M", 300))
    threshold = float(getattr(settings, "CASES_DUPLICATE_MIN_SIMILARITY", 0.35))
    qs = visible_cases(user).filter(status__in=OPEN_STATUSES)
    if category is not None:
        qs = qs.filter(category_id=category if isinstance(category, int) else category.pk)
    if exclude:
        qs = qs.exclude(pk=exclude)
    if lon is not None and lat is not None:
        dlat = radius / 111_320.0
        dlon = radius / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
        qs = qs.filter(lon__gte=lon - dlon, lon__lte=lon + dlon, lat__gte=lat - dlat, lat__lte=lat + dlat)
    candidates = qs.select_related(*LIST_RELATED).order_by("-received_at", "-id")[:200]
    found: list[PossibleDuplicate] = []
    for case in candidates:
        dist = None
        if lon is not None and lat is not None and case.lon is not None and case.lat is not None:
            dist = distance_m(lon, lat, case.lon, case.lat)
            if dist > radius:
                continue
        score = text_similarity(text, f"{case.title} {case.description[:300]}")
        if score >= threshold:
            found.append(PossibleDuplicate(case, dist, round(score, 3)))
    found.sort(key=lambda d: (-d.similarity, d.distance_m or 0.0))
    return found[:limit]


# --- joint handling (联合处置) ---------------------------------------------------------------------

ASSIST_RELATED = ("department", "requested_by", "acknowledged_by", "responded_by")


def case_assists(user: Any, case: Case) -> list[CaseAssist]:
    """The co-handling parts of a case the user may read, oldest first (a case has a handful)."""
    if getattr(case, "_visible_to", None) != getattr(user, "pk", None):
        case = case_get(user, case.pk)
    qs = CaseAssist.objects.filter(case_id=case.pk).select_related(*ASSIST_RELATED)
    return list(qs.order_by("requested_at", "id"))


def case_assists_qs(user: Any, case_id: int) -> QuerySet[CaseAssist]:
    """The parts of a visible case (404 otherwise), for the paginated API list."""
    case_get(user, case_id)
    qs = CaseAssist.objects.filter(case_id=case_id).select_related("case", *ASSIST_RELATED)
    return qs.order_by("requested_at", "id")


def assist_get(user: Any, pk: int) -> CaseAssist:
    """One part whose case the user may read (404 otherwise)."""
    found = CaseAssist.objects.filter(pk=pk).values_list("case_id", flat=True).first()
    if found is None:
        raise NotFound(_("协办任务不存在"))
    case = case_get(user, int(found))
    assist = CaseAssist.objects.select_related(*ASSIST_RELATED).get(pk=pk)
    assist.case = case
    return assist


def assist_inbox(user: Any) -> QuerySet[CaseAssist]:
    """The 协办 inbox: the open parts of the user's departments on open cases, the nearest
    deadline first (paginate it)."""
    depts = _department_ids(user)
    if not depts or not has_capability(user, CaseCapability.HANDLE):
        return CaseAssist.objects.none()
    return (
        CaseAssist.objects.filter(
            department_id__in=depts, status__in=OPEN_ASSIST_STATUSES, case__status__in=OPEN_STATUSES
        )
        .select_related("case", "case__category", "department", "requested_by")
        .order_by("due_at", "id")
    )


def _code_prefixes(code: str) -> list[str]:
    """The code and every ancestor's code (district 6, street 9, community 12 digits)."""
    return [code[:n] for n in (6, 9, 12) if len(code) > n] + [code]


ASSIST_DEPARTMENT_LIMIT = 200


def assist_departments(case: Case) -> QuerySet[Department]:
    """The departments that may be asked to co-handle ``case``: active, serving the case's
    territory (their area is the case's grid or one of its ancestors), not the case's own
    department."""
    qs = Department.objects.filter(is_active=True, area__code__in=_code_prefixes(case.area_code))
    if case.current_department_id:
        qs = qs.exclude(pk=case.current_department_id)
    return qs.select_related("area").order_by("area__code", "name", "id")
