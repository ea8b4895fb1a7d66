"""Case pages: role inboxes, the case page with its actions, the hotline console and the walk-in
form, the map of open cases, and the public pages (resident report, tracking and rating).

Every write goes through civicgrid.cases.services (so it passes the transition table and is
audited); every read through civicgrid.cases.selectors / page_selectors (so it is scoped)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from civicgrid.accounts.permissions import has_capability
from civicgrid.audit.context import client_ip
from civicgrid.cases import joint, page_selectors, photos, selectors, services, workflow
from civicgrid.cases.enums import (
    OPEN_ASSIST_STATUSES,
    AssistAction,
    AssistStatus,
    CaseStatus,
    Channel,
    NotAcceptedReason,
    Outcome,
)
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.forms import (
    IntakeForm,
    PhotoUploadForm,
    RatingForm,
    ResidentReportForm,
    TrackLookupForm,
    add_service_errors,
)
from civicgrid.cases.models import Case, CaseAssist, CaseEvent
from civicgrid.cases.permissions import CaseCapability
from civicgrid.common.errors import Conflict, DomainError, Forbidden, NotFound
from civicgrid.common.text import join_list

View = Callable[..., HttpResponseBase]
PAGE_SIZE = 25

# Tabs of the inbox page: (box, label, capability needed to see the tab).
INBOX_TABS: list[tuple[str, Any, str]] = [
    ("to_sign_for", gettext_lazy("待签收"), CaseCapability.HANDLE),
    ("mine", gettext_lazy("我的案件"), CaseCapability.HANDLE),
    ("overdue", gettext_lazy("已超期"), CaseCapability.VIEW),
    ("to_verify", gettext_lazy("待核查"), CaseCapability.VERIFY),
    ("to_follow_up", gettext_lazy("待回访"), CaseCapability.VERIFY),
    ("manual_queue", gettext_lazy("待人工派遣"), CaseCapability.DISPATCH),
    ("to_register", gettext_lazy("待立案"), CaseCapability.INTAKE),
]
# The 协办 tab (joint handling): open parts of the user's departments; shown after "mine" to
# users with cases.handle who belong to a department.
ASSIST_BOX = "assist"
ASSIST_TAB_LABEL = gettext_lazy("协办")
# The deadline each inbox sorts by.
BOX_DEADLINE = {"to_sign_for": "acknowledge_due", "to_follow_up": "close_due", "to_verify": "close_due"}

# The extra fields each action's form carries (besides note and expected_version).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    A.NOT_ACCEPT: ("reason_code",),
    A.DISPATCH: ("target",),
    A.TRANSFER: ("department",),
    A.VERIFY_PASS: ("outcome",),
    A.MERGE: ("duplicate_of",),
    A.EVALUATE: ("satisfaction", "resolved"),
    A.REQUEST_EXTENSION: ("hours",),
}
NOTE_REQUIRED = workflow.REASON_REQUIRED | {A.REPORT_BACK, A.ANSWER_DIRECTLY, A.REQUEST_EXTENSION}
# Actions whose note is a reply or a reason: their form offers the canned replies (常用回复).
TEMPLATE_ACTIONS = frozenset(
    {A.REPORT_BACK, A.ANSWER_DIRECTLY, A.VERIFY_FAIL, A.RETURN_TO_DISPATCHER, A.REFUSE_TRANSFER, A.NOT_ACCEPT}
)


def cases_view(capability: str) -> Callable[[View], View]:
    """Login required (redirect), the capability (403); NotFound -> 404."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_capability(request.user, capability):
                raise PermissionDenied(_("您没有此操作的权限"))
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(str(exc.message)) from exc

        return wrapped

    return decorator


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- inboxes ----------------------------------------------------------------------------------


@cases_view(CaseCapability.VIEW)
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    tabs = [(box, str(label)) for box, label, cap in INBOX_TABS if has_capability(user, cap)]
    case_boxes = [box for box, _label in tabs]
    if has_capability(user, CaseCapability.HANDLE) and selectors.user_department_ids(user):
        at = case_boxes.index("mine") + 1 if "mine" in case_boxes else len(tabs)
        tabs.insert(at, (ASSIST_BOX, str(ASSIST_TAB_LABEL)))
    boxes = [box for box, _label in tabs]
    box = request.GET.get("box") or (boxes[0] if boxes else "overdue")
    if box not in boxes:
        raise Http404(_("没有这个收件箱"))
    counts = selectors.inbox_counts(user, case_boxes)
    sort = request.GET.get("sort", "")
    if ASSIST_BOX in boxes:
        parts = selectors.assist_inbox(user)
        counts[ASSIST_BOX] = parts.count()
        if box == ASSIST_BOX:
            return _assist_inbox(request, tabs, counts, parts, sort)
    qs = selectors.inbox(user, box)
    field = BOX_DEADLINE.get(box, "handle_due")
    if sort == "deadline":
        qs = qs.order_by(f"{field}", "id")
    elif sort == "-deadline":
        qs = qs.order_by(f"-{field}", "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/inbox.html",
        {
            "tabs": [(b, label, counts.get(b, 0)) for b, label in tabs],
            "box": box,
            "page": page,
            "sort": sort,
            "deadline_field": field,
            "can_intake": has_capability(user, CaseCapability.INTAKE),
            "can_dispatch": has_capability(user, CaseCapability.DISPATCH),
        },
    )


def _assist_inbox(
    request: HttpRequest, tabs: list[tuple[str, str]], counts: dict[str, int], parts: Any, sort: str
) -> HttpResponse:
    """The 协办 tab: the department's open parts, nearest deadline first (or last)."""
    if sort == "-deadline":
        parts = parts.order_by("-due_at", "-id")
    page = Paginator(parts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/inbox.html",
        {
            "tabs": [(b, label, counts.get(b, 0)) for b, label in tabs],
            "box": ASSIST_BOX,
            "page": page,
            "sort": sort,
            "now": page_selectors.now(),
            "can_intake": has_capability(request.user, CaseCapability.INTAKE),
            "can_dispatch": has_capability(request.user, CaseCapability.DISPATCH),
        },
    )


# --- the case page ------------------------------------------------------------------------------


def _action_forms(request: HttpRequest, case: Case, open_parts: list[str] | None = None) -> list[dict[str, Any]]:
    actions = workflow.available_actions(request.user, case)
    forms = []
    for code in actions:
        fields = ACTION_FIELDS.get(code, ())
        if code == A.REPORT_BACK and open_parts:
            fields = (*fields, "assist_override")
        forms.append(
            {
                "code": code,
                "label": workflow.action_label(code),
                "fields": fields,
                "note_required": code in NOTE_REQUIRED,
                "templates": code in TEMPLATE_ACTIONS,
            }
        )
    return forms


def _open_part_names(case: Case, parts: list[CaseAssist] | None) -> list[str]:
    """The departments whose part is still open (they hold up the report back)."""
    if parts is None:
        qs = CaseAssist.objects.filter(case_id=case.pk, status__in=OPEN_ASSIST_STATUSES)
        return list(qs.order_by("id").values_list("department__name", flat=True))
    return [p.department.name for p in parts if p.status in OPEN_ASSIST_STATUSES]


def _actions_context(
    request: HttpRequest,
    case: Case,
    *,
    error: str = "",
    posted: str = "",
    parts: list[CaseAssist] | None = None,
) -> dict[str, Any]:
    may_report = workflow.may_take(request.user, case, A.REPORT_BACK)
    open_parts = _open_part_names(case, parts) if may_report else []
    forms = _action_forms(request, case, open_parts)
    needs = {f for form in forms for f in form["fields"]}
    with_templates = any(form["templates"] for form in forms)
    return {
        "response_templates": page_selectors.response_templates(case.category) if with_templates else [],
        "case": case,
        "action_forms": forms,
        "open_parts": open_parts,
        "error": error,
        "posted": posted,
        "departments": page_selectors.departments_for_select() if needs & {"department", "target"} else [],
        "units": page_selectors.tier_units(case) if "target" in needs else [],
        "reason_codes": NotAcceptedReason.choices,
        "outcomes": [(Outcome.FIXED, Outcome.FIXED.label), (Outcome.CLOSED_NOT_FIXED, Outcome.CLOSED_NOT_FIXED.label)],
    }


def _routing_reason(events: list[CaseEvent]) -> str:
    for event in reversed(events):
        routing = (event.data or {}).get("routing")
        if isinstance(routing, dict) and routing.get("reason"):
            return str(routing["reason"])
    return ""


@cases_view(CaseCapability.VIEW)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(request.user, pk)
    events = list(selectors.timeline(request.user, case))
    parts = selectors.case_assists(request.user, case)
    context = _actions_context(request, case, parts=parts)
    context.update(_joint_context(request, case, parts=parts))
    context.update(
        {
            "events": events,
            "routing_reason": _routing_reason(events),
            "photos": page_selectors.case_photos(case),
            "photo_form": PhotoUploadForm(),
            "can_upload": _may_upload(request.user) and not selectors.reads_only_as_co_handler(request.user, case),
            "can_moderate_photos": services.can_moderate(request.user),
            "is_new": request.GET.get("new") == "1",
        }
    )
    return render(request, "cases/detail.html", context)


def _int(value: Any, field: str, message: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: message}) from None


def _payload(request: HttpRequest, action: str) -> dict[str, Any]:
    """The service keyword arguments of ``action`` from the POSTed form."""
    post = request.POST
    payload: dict[str, Any] = {}
    fields = ACTION_FIELDS.get(action, ())
    if "reason_code" in fields:
        payload["reason_code"] = post.get("reason_code", "")
    if "target" in fields:
        target = post.get("target", "")
        if target == "grid_chief":
            payload["grid_chief"] = True
        elif target.startswith("dept:"):
            payload["department"] = _int(target[5:], "target", _("请选择派遣对象"))
        elif target.startswith("unit:"):
            payload["unit"] = _int(target[5:], "target", _("请选择派遣对象"))
        else:
            raise ValidationError({"target": _("请选择派遣对象")})
    if "department" in fields:
        payload["department"] = _int(post.get("department"), "department", _("请选择转办部门"))
    if "outcome" in fields:
        payload["outcome"] = post.get("outcome", "")
    if "duplicate_of" in fields:
        payload["duplicate_of"] = _duplicate_target(request, post.get("duplicate_of", ""))
    if "satisfaction" in fields:
        payload["satisfaction"] = _int(post.get("satisfaction"), "satisfaction", _("满意度应为1到5分"))
        resolved = post.get("resolved")
        if resolved not in ("yes", "no"):
            raise ValidationError({"resolved": _("请选择问题是否解决")})
        payload["resolved"] = resolved == "yes"
    if "hours" in fields:
        payload["hours"] = _int(post.get("hours"), "hours", _("请填写延期小时数"))
    if action == A.REPORT_BACK and post.get("assist_override", "").strip():
        payload["assist_override"] = post.get("assist_override", "").strip()
    return payload


TRACKING_RE = re.compile(r"^[0-9A-Za-z]{6,16}$")


def _duplicate_target(request: HttpRequest, value: str) -> int:
    """The case to merge into, by id or tracking code, among the cases the user can see."""
    value = value.strip().lstrip("#")
    qs = selectors.visible_cases(request.user)
    found: int | None = None
    if value.isdigit():
        found = qs.filter(pk=int(value)).values_list("pk", flat=True).first()
    if found is None and TRACKING_RE.match(value):
        found = qs.filter(tracking_code=value.upper()).values_list("pk", flat=True).first()
    if found is None:
        raise ValidationError({"duplicate_of": _("要合并到的案件不存在或不在您的辖区范围内")})
    return int(found)


def _error_status(exc: Exception) -> int:
    if isinstance(exc, DomainError):
        return exc.status
    if isinstance(exc, PermissionDenied):
        return 403
    return 400


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(m) for m in exc.messages)
    if isinstance(exc, DomainError):
        return str(exc.message)
    return str(exc) or _("您没有此操作的权限")


@cases_view(CaseCapability.VIEW)
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    """Take one workflow action (htmx POST from the case page). Errors come back as the
    actions fragment with the Chinese message and the matching status (400/403/409)."""
    case = selectors.case_get(request.user, pk)
    action = request.POST.get("action", "")
    status = 200
    try:
        expected = _int(request.POST.get("expected_version"), "expected_version", _("缺少版本号, 请刷新后重试"))
        note = request.POST.get("note", "").strip()
        if action in NOTE_REQUIRED and not note:
            raise ValidationError({"note": _("请填写“%(action)s”的说明") % {"action": workflow.action_label(action)}})
        payload = _payload(request, action)
        case = services.case_transition(
            actor=request.user, case=case, action=action, expected_version=expected, note=note, **payload
        )
    except (ValidationError, DomainError, PermissionDenied) as exc:
        if isinstance(exc, DomainError):
            status = exc.status
        elif isinstance(exc, PermissionDenied):
            status = 403
        else:
            status = 400
        if isinstance(exc, Conflict):
            # Show the state the other person left, so the user sees why.
            case = selectors.case_get(request.user, pk)
        error = _error_text(exc)
        if _is_htmx(request):
            return render(
                request,
                "cases/_actions.html",
                _actions_context(request, case, error=error, posted=action),
                status=status,
            )
        messages.error(request, error)
        return redirect("cases:detail", pk=pk)
    messages.success(
        request,
        _("已执行“%(action)s”, 当前状态: %(status)s")
        % {"action": workflow.action_label(action), "status": case.get_status_display()},
    )
    url = reverse("cases:detail", args=[case.pk])
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- joint handling (联合处置): the panel on the case page ------------------------------------------


def _joint_context(
    request: HttpRequest, case: Case, *, parts: list[CaseAssist] | None = None, error: str = "", posted: str = ""
) -> dict[str, Any]:
    """The 联合处置 panel: the parts with the buttons the user may press, the progress, and
    (for the lead) the departments that may still be asked."""
    user = request.user
    if parts is None:
        parts = selectors.case_assists(user, case)
    now = page_selectors.now()
    rows = [
        {
            "assist": part,
            "overdue": part.is_open and part.due_at < now,
            "actions": [
                {
                    "code": code,
                    "label": workflow.assist_action_label(code),
                    "note_required": code in workflow.ASSIST_TEXT_REQUIRED,
                }
                for code in workflow.available_assist_actions(user, case, part)
            ],
        }
        for part in parts
    ]
    may_request = workflow.may_request_assist(user, case)
    departments: list[Any] = []
    if may_request:
        busy = {p.department_id for p in parts if p.is_open}
        departments = [d for d in selectors.assist_departments(case)[:200] if d.pk not in busy]
    finished = sum(1 for p in parts if p.status in (AssistStatus.DONE, AssistStatus.DECLINED))
    requested = sum(1 for p in parts if p.status != AssistStatus.CANCELLED)
    return {
        "parts": rows,
        "joint_progress": {"finished": finished, "requested": requested},
        "may_request_assist": may_request,
        "assist_departments": departments,
        "joint_error": error,
        "joint_posted": posted,
        "case": case,
    }


def _joint_error(request: HttpRequest, case_pk: int, exc: Exception, posted: str) -> HttpResponse:
    """A refused joint action: the panel with the message (htmx) or the page with a message."""
    error = _error_text(exc)
    if _is_htmx(request):
        case = selectors.case_get(request.user, case_pk)
        return render(
            request,
            "cases/_joint.html",
            _joint_context(request, case, error=error, posted=posted),
            status=_error_status(exc),
        )
    messages.error(request, error)
    return redirect(f"{reverse('cases:detail', args=[case_pk])}#case-joint")


def _joint_done(request: HttpRequest, case_pk: int, message: str) -> HttpResponse:
    messages.success(request, message)
    url = reverse("cases:detail", args=[case_pk])
    if _is_htmx(request):
        # The page itself (a URL differing only by its #fragment would not reload it).
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(f"{url}#case-joint")


@cases_view(CaseCapability.VIEW)
@require_POST
def joint_request(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead asks co-handling departments for help (htmx POST from the 联合处置 panel)."""
    case = selectors.case_get(request.user, pk)
    try:
        expected = _int(request.POST.get("expected_version"), "expected_version", _("缺少版本号, 请刷新后重试"))
        parts = joint.case_assist_request(
            actor=request.user,
            case=case,
            department_ids=request.POST.getlist("department_ids"),
            note=request.POST.get("note", ""),
            expected_version=expected,
        )
    except (ValidationError, DomainError, PermissionDenied) as exc:
        return _joint_error(request, pk, exc, AssistAction.REQUEST)
    names = join_list(p.department.name for p in parts)
    return _joint_done(request, pk, _("已请求协办: %(names)s") % {"names": names})


@cases_view(CaseCapability.VIEW)
@require_POST
def joint_act(request: HttpRequest, assist_id: int) -> HttpResponse:
    """One action on a part: sign, report, decline (co-handler) or cancel (lead)."""
    assist = selectors.assist_get(request.user, assist_id)
    action = request.POST.get("action", "")
    try:
        expected = _int(request.POST.get("expected_version"), "expected_version", _("缺少版本号, 请刷新后重试"))
        assist = joint.case_assist_act(
            actor=request.user,
            assist=assist,
            action=action,
            expected_version=expected,
            note=request.POST.get("note", ""),
        )
    except (ValidationError, DomainError, PermissionDenied) as exc:
        return _joint_error(request, assist.case_id, exc, f"{assist_id}:{action}")
    message = _("已执行“%(action)s”(%(dept)s), 协办状态: %(status)s") % {
        "action": workflow.assist_action_label(action),
        "dept": assist.department.name,
        "status": assist.get_status_display(),
    }
    return _joint_done(request, assist.case_id, message)


# --- photos -------------------------------------------------------------------------------------


def _may_upload(user: Any) -> bool:
    return any(
        has_capability(user, c)
        for c in (CaseCapability.HANDLE, CaseCapability.INTAKE, CaseCapability.VERIFY, CaseCapability.DISPATCH)
    )


@cases_view(CaseCapability.VIEW)
@require_POST
def photo_upload(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(request.user, pk)
    if not _may_upload(request.user) or selectors.reads_only_as_co_handler(request.user, case):
        raise PermissionDenied(_("您没有上传照片的权限"))
    form = PhotoUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            checked = photos.check_photos(form.cleaned_data["photos"])
            with transaction.atomic():
                for item in checked:
                    photos.photo_add(actor=request.user, case=case, checked=item, kind=form.cleaned_data["kind"])
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            return redirect("cases:detail", pk=pk)
        n = len(checked)
        messages.success(request, ngettext("已上传%(n)d张照片", "已上传%(n)d张照片", n) % {"n": n})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("cases:detail", pk=pk)


@cases_view(CaseCapability.VIEW)
@require_POST
def photo_visibility(request: HttpRequest, photo_id: int) -> HttpResponse:
    """Hide a photo from the public or show it again (moderation right; reason required)."""
    photo = page_selectors.photo_get(request.user, photo_id)
    is_public = request.POST.get("is_public") == "1"
    try:
        photos.case_photo_set_public(
            actor=request.user, photo=photo, is_public=is_public, reason=request.POST.get("reason", "")
        )
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except (ValidationError, DomainError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("照片已恢复公开") if is_public else _("照片已隐藏"))
    return redirect(f"{reverse('cases:detail', args=[photo.case_id])}#case-photos")


@cases_view(CaseCapability.VIEW)
@require_GET
def photo_file(request: HttpRequest, photo_id: int) -> FileResponse:
    """The staff copy of a photo (EXIF kept), for users who may read its case."""
    photo = page_selectors.photo_get(request.user, photo_id)
    response = FileResponse(photo.image.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- the hotline console and the walk-in form -----------------------------------------------------


def _intake_page(request: HttpRequest, channel: str) -> HttpResponse:
    user = request.user
    form = IntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = form.cleaned_data["idempotency_key"]
        replay = services.case_for_idempotency_key(actor=user, channel=channel, key=key)
        if replay is not None:
            messages.info(request, _("该表单已提交过, 这是当时创建的案件(未重复创建)"))
            return redirect(f"{reverse('cases:detail', args=[replay.pk])}?new=1")
        answer = (form.cleaned_data.get("answer") or "").strip()
        answer_now = request.POST.get("submit") == "answer"
        merge_into = form.cleaned_data.get("merge_into")
        try:
            if answer_now and not answer:
                raise ValidationError({"answer": _("请填写答复内容")})
            with transaction.atomic():
                follow_up = answer_now or bool(merge_into)
                case = services.case_intake(
                    actor=user,
                    channel=channel,
                    data=form.service_data(),
                    idempotency_key=key,
                    register=False if follow_up else None,
                )
                if follow_up and case.status == CaseStatus.RECEIVED:
                    if answer_now:
                        case = services.case_transition(
                            actor=user, case=case, action=A.ANSWER_DIRECTLY, expected_version=case.version, note=answer
                        )
                    else:
                        case = services.case_transition(
                            actor=user,
                            case=case,
                            action=A.MERGE,
                            expected_version=case.version,
                            note=_("受理时合并为重复案件"),
                            duplicate_of=_duplicate_target(request, str(merge_into)),
                        )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (DomainError, PermissionDenied) as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(
                request,
                _("案件已受理, 查询码 %(code)s, 状态: %(status)s")
                % {"code": case.tracking_code, "status": case.get_status_display()},
            )
            return redirect(f"{reverse('cases:detail', args=[case.pk])}?new=1")
    template = "cases/console.html"
    return render(
        request,
        template,
        {
            "form": form,
            "channel": channel,
            "is_hotline": channel == Channel.HOTLINE,
            "scope_code": page_selectors.map_scope_code(user),
            "response_templates": page_selectors.console_response_templates(),
        },
        status=400 if request.method == "POST" else 200,
    )


@cases_view(CaseCapability.INTAKE)
def console(request: HttpRequest) -> HttpResponse:
    return _intake_page(request, Channel.HOTLINE)


@cases_view(CaseCapability.INTAKE)
def walk_in(request: HttpRequest) -> HttpResponse:
    return _intake_page(request, Channel.WALK_IN)


@cases_view(CaseCapability.VIEW)
@require_POST
def console_caller(request: HttpRequest) -> HttpResponse:
    """htmx: the caller's earlier cases, by the phone's blind index (phone sent by POST,
    never in a URL)."""
    phone = re.sub(r"[^0-9+]", "", request.POST.get("reporter_phone", ""))
    cases: list[Case] = []
    if len(phone) >= 7:
        cases = selectors.case_find_by_caller_phone(request.user, phone, limit=20)
    return render(request, "cases/_caller_history.html", {"cases": cases, "searched": len(phone) >= 7})


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@cases_view(CaseCapability.VIEW)
@require_POST
def console_duplicates(request: HttpRequest) -> HttpResponse:
    """htmx: open cases similar in text, same category and nearby."""
    post = request.POST
    category_id = post.get("category", "")
    text = f"{post.get('title', '')} {post.get('description', '')}".strip()
    found: list[selectors.PossibleDuplicate] = []
    if category_id.isdigit() and len(text) >= 4:
        lon, lat = _float_or_none(post.get("lon")), _float_or_none(post.get("lat"))
        if lon is None or lat is None:
            lon = lat = None
        found = selectors.case_possible_duplicates(request.user, category=int(category_id), lon=lon, lat=lat, text=text)
    return render(request, "cases/_duplicates.html", {"duplicates": found, "searched": bool(text)})


@cases_view(CaseCapability.VIEW)
@require_GET
def places(request: HttpRequest) -> JsonResponse:
    """Address search: compounds, buildings and road segments in the user's scope."""
    query = request.GET.get("q", "")[:50]
    found = page_selectors.place_search(request.user, query)
    return JsonResponse({"results": [p.as_dict() for p in found]}, json_dumps_params={"ensure_ascii": False})


# --- the map of open cases ------------------------------------------------------------------------


@cases_view(CaseCapability.VIEW)
def case_map(request: HttpRequest) -> HttpResponse:
    categories = [c for c, _children in selectors.category_tree()]
    return render(
        request,
        "cases/map.html",
        {"scope_code": page_selectors.map_scope_code(request.user), "categories": categories},
    )


@cases_view(CaseCapability.VIEW)
@require_GET
def case_map_points(request: HttpRequest) -> JsonResponse:
    category = request.GET.get("category", "")
    points = page_selectors.open_case_points(
        request.user,
        category=int(category) if category.isdigit() else None,
        overdue_only=request.GET.get("overdue") == "1",
    )
    for point in points:
        point["url"] = reverse("cases:detail", args=[point["id"]])
    return JsonResponse({"points": points}, json_dumps_params={"ensure_ascii": False})


# --- public pages: resident report, tracking, rating -------------------------------------------------


def rate_limited(request: HttpRequest, bucket: str) -> bool:
    """Count one anonymous submission from this client; True once it is over the limit
    (settings.CASES_PUBLIC_RATE_LIMIT = (count, seconds), a fixed window in the cache)."""
    count, seconds = settings.CASES_PUBLIC_RATE_LIMIT
    ip = client_ip(request.META) or "unknown"
    key = f"cases:rl:{bucket}:{ip}"
    if cache.add(key, 1, timeout=seconds):
        return count < 1
    try:
        current = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=seconds)
        current = 1
    return int(current) > int(count)


def report(request: HttpRequest) -> HttpResponse:
    """The resident web form (no account). On success: the tracking page with the code."""
    form = ResidentReportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if rate_limited(request, "report"):
            form.is_valid()
            return render(
                request,
                "cases/report.html",
                {"form": form, "rate_limited": True},
                status=429,
            )
        if form.is_valid():
            key = form.cleaned_data["idempotency_key"]
            replay = services.case_for_idempotency_key(actor=None, channel=Channel.RESIDENT_WEB, key=key)
            if replay is not None:
                return redirect(f"{reverse('cases:track', args=[replay.tracking_code])}?new=1")
            try:
                checked = photos.check_photos(form.cleaned_data.get("photos") or [])
                with transaction.atomic():
                    case = services.case_intake(
                        actor=None, channel=Channel.RESIDENT_WEB, data=form.service_data(), idempotency_key=key
                    )
                    if not case.photos.exists():
                        for item in checked:
                            photos.photo_add(actor=None, case=case, checked=item)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    add_service_errors(form, exc)
                else:
                    for message in exc.messages:
                        form.add_error("photos", message)
            except DomainError as exc:
                form.add_error(None, _error_text(exc))
            else:
                return redirect(f"{reverse('cases:track', args=[case.tracking_code])}?new=1")
        status = 400
    return render(request, "cases/report.html", {"form": form}, status=status)


def track_lookup(request: HttpRequest) -> HttpResponse:
    form = TrackLookupForm(request.GET or None)
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["code"].strip().upper()
        if TRACKING_RE.match(code):
            return redirect("cases:track", code=code)
        form.add_error("code", _("查询码格式不正确"))
    return render(request, "cases/track_lookup.html", {"form": form})


def track(request: HttpRequest, code: str) -> HttpResponse:
    """The public tracking page: status, public timeline, public photos, and the rating form
    once the case is closed. No personal data, no staff notes."""
    try:
        case = selectors.case_by_tracking_code(code)
    except NotFound as exc:
        return render(
            request, "cases/track_lookup.html", {"form": TrackLookupForm(), "not_found": str(exc.message)}, status=404
        )
    form = RatingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if rate_limited(request, "rate"):
            return HttpResponse(_("提交过于频繁, 请稍后再试"), status=429)
        if form.is_valid():
            try:
                services.case_evaluate_by_resident(
                    tracking_code=case.tracking_code,
                    satisfaction=form.cleaned_data["satisfaction"],
                    resolved=form.cleaned_data["resolved"],
                    comment=form.cleaned_data.get("comment") or "",
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, _("感谢您的评价"))
                return redirect("cases:track", code=case.tracking_code)
        status = 400
    events = list(selectors.public_timeline(case))
    return render(
        request,
        "cases/track.html",
        {
            "case": case,
            "events": events,
            "photos": page_selectors.case_photos(case, public=True),
            "form": form,
            "can_rate": case.status == CaseStatus.CLOSED,
            "is_new": request.GET.get("new") == "1",
        },
        status=status,
    )


@require_GET
def public_grids(request: HttpRequest) -> JsonResponse:
    """Grid outlines for the resident report map (public, no login)."""
    return JsonResponse(page_selectors.public_grid_collection(), json_dumps_params={"ensure_ascii": False})
