"""/m/: the grid worker's phone app (网格通). Thin views: reads through mobile.selectors (which
use the cases / patrols / notifications selectors, all scoped), writes through
mobile.services (which use the cases services). The PWA plumbing (manifest, service worker,
session probe for the offline queue) lives here too.

Every page answers ``X-CivicGrid-User`` (the service worker keeps each user's pages in a cache
of their own and drops them when the session ends) and ``Cache-Control: private, no-cache``."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicgrid.accounts.permissions import Capability, has_capability
from civicgrid.cases import selectors as case_selectors
from civicgrid.cases import workflow
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.models import CasePhoto, PhotoKind
from civicgrid.common.errors import DomainError, NotFound
from civicgrid.mobile import selectors, services
from civicgrid.notifications import selectors as notification_selectors

View = Callable[..., HttpResponseBase]
PAGE_SIZE = 20
MESSAGES_PAGE_SIZE = 20
# Static files the service worker precaches (the app shell); their contents version the cache.
SHELL_STATIC = (
    "mobile/mobile.css",
    "mobile/app.js",
    "mobile/queue.js",
    "patrols/patrol.js",
    "mobile/icons/icon-192.png",
    "mobile/icons/icon-512.png",
)
SW_VERSION = "2"  # bump when sw.js changes in a way the static hash does not show
SYNC_TAG = "civicgrid-m-queue"  # the Background Sync tag (app.js registers the same)
EXTENSION_HOURS = (12, 24, 48, 72)
USER_HEADER = "X-CivicGrid-User"


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error_json(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _private(response: HttpResponseBase, request: HttpRequest) -> HttpResponseBase:
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie"
    if request.user.is_authenticated:
        response[USER_HEADER] = str(request.user.pk)
    return response


def mobile_page(capability: str | None = None) -> Callable[[View], View]:
    """Log-in required (redirect; JSON 401 for fetch), then the capability (403); NotFound -> 404."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                if _wants_json(request):
                    return _error_json(401, "unauthenticated", _("请先登录"))
                return redirect_to_login(request.get_full_path())
            if capability and not has_capability(request.user, capability):
                if _wants_json(request):
                    return _error_json(403, "forbidden", _("您没有此操作的权限"))
                raise PermissionDenied(_("您没有此操作的权限"))
            try:
                response = view(request, *args, **kwargs)
            except NotFound as exc:
                if _wants_json(request):
                    return _error_json(404, exc.code, str(exc.message))
                raise Http404(str(exc.message)) from exc
            return _private(response, request)

        return wrapped

    return decorator


def _shell_context(request: HttpRequest, tab: str) -> dict[str, Any]:
    user = request.user
    return {
        "tab": tab,
        "generated_at": timezone.localtime(),
        "unread": notification_selectors.unread_count(user),
        "can_patrol": has_capability(user, Capability.PATROL),
        "can_report": has_capability(user, Capability.CASES_INTAKE),
    }


# --- 我的任务 ------------------------------------------------------------------------------------


@mobile_page(Capability.CASES_VIEW)
@require_GET
def tasks(request: HttpRequest) -> HttpResponse:
    user = request.user
    only = request.GET.get("group", "")
    if only and only not in selectors.GROUP_KEYS:
        raise Http404(_("没有这个任务分组"))
    counts = selectors.task_counts(user)
    now = timezone.now()
    groups = []
    for key, label, _field in selectors.GROUPS:
        if only and key != only:
            continue
        page = Paginator(selectors.task_group(user, key), PAGE_SIZE).get_page(request.GET.get("page") if only else 1)
        items = [{"case": c, "due": selectors.due_of(c), "overdue": selectors.is_overdue(c, now)} for c in page]
        groups.append({"key": key, "label": str(label), "count": counts[key], "page": page, "items": items})
    context = _shell_context(request, "tasks")
    context.update({"groups": groups, "only": only, "total": sum(counts.values())})
    return render(request, "mobile/tasks.html", context)


# Actions after which the actor is the case's handler (cases.services applies them so).
HANDLER_AFTER = frozenset({A.ACKNOWLEDGE, A.ACCEPT_TRANSFER})


def action_plan(user: Any, case: Any) -> dict[str, list[str]]:
    """Each phone action ``user`` may take on ``case`` now or after actions of their own
    taken before it (offline, waiting in the queue): action -> the statuses it is allowed in.
    Found by walking the transition table from the case as it is, the way
    ``case_transition`` changes it (status; 签收 and 接收转办 make the actor the handler)."""
    plan: dict[str, list[str]] = {}
    seen: set[tuple[str, Any]] = set()
    frontier = [case]
    while frontier:
        state = frontier.pop(0)
        key = (state.status, state.current_handler_id)
        if key in seen:
            continue
        seen.add(key)
        for code in workflow.available_actions(user, state, services.MOBILE_ACTIONS):
            statuses = plan.setdefault(code, [])
            if state.status not in statuses:
                statuses.append(state.status)
            after = copy.copy(state)
            after.status = workflow.target_status(state.status, code) or state.status
            if code in HANDLER_AFTER:
                after.current_handler_id = user.pk
            frontier.append(after)
    if A.REPORT_BACK in plan:
        # Whoever may report back is the handler of a case being handled: they may also
        # write a handling record (note and before/after photos) first.
        plan = {services.RECORD: list(plan[A.REPORT_BACK]), **plan}
    return plan


def _action_forms(request: HttpRequest, case: Any) -> list[dict[str, Any]]:
    """The task page's forms: the actions allowed now, shown, and those allowed only after
    the user's own queued actions, hidden (the offline queue shows them when it predicts
    the status they need). Each knows the statuses it is for and the status it leads to."""
    now = set(workflow.available_actions(request.user, case, services.MOBILE_ACTIONS))
    if A.REPORT_BACK in now:
        now.add(services.RECORD)
    forms = []
    for code, statuses in action_plan(request.user, case).items():
        to = case.status if code == services.RECORD else workflow.target_status(statuses[0], code)
        forms.append(
            {
                "code": code,
                "label": _("处置记录") if code == services.RECORD else workflow.action_label(code),
                "note_required": code in services.NOTE_REQUIRED,
                "photos": code in services.PHOTO_ACTIONS,
                "client_id": uuid.uuid4().hex,
                "when": " ".join(statuses),
                "to": "" if code == services.RECORD else to,
                "now": code in now,
            }
        )
    return forms


@mobile_page(Capability.CASES_VIEW)
@require_GET
def task(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.task_get(request.user, pk)
    photos: list[CasePhoto] = list(case.photos.order_by("created_at", "id"))
    forms = _action_forms(request, case)
    context = _shell_context(request, "tasks")
    context.update(
        {
            "case": case,
            "due": selectors.due_of(case),
            "overdue": selectors.is_overdue(case),
            "photos": photos,
            "events": selectors.recent_events(request.user, case),
            "action_forms": forms,
            "actions_now": any(f["now"] for f in forms),
            "extension_hours": EXTENSION_HOURS,
            "photo_kinds": [(PhotoKind.BEFORE, PhotoKind.BEFORE.label), (PhotoKind.AFTER, PhotoKind.AFTER.label)],
        }
    )
    return render(request, "mobile/task.html", context)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _case_json(case: Any) -> dict[str, Any]:
    return {"id": case.pk, "status": case.status, "status_label": case.get_status_display(), "version": case.version}


@mobile_page(Capability.CASES_VIEW)
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One phone action (form POST or the offline queue's replay, with Accept: JSON and the
    action's ``Idempotency-Key``). JSON answers: 200 {"case", "replayed", "message"} (a replay
    answers the status and version the first submission did); 400/403/404/409 {"error": ...}
    (400/403/409 with the case as it is now: {"case": {id, status, status_label, version}})."""
    case = selectors.task_get(request.user, pk)
    post = request.POST
    action = post.get("action", "")
    try:
        client_id = _client_id(request)
        expected = _int_or_none(post.get("expected_version"))
        if expected is None:
            raise ValidationError({"expected_version": _("缺少版本号, 请刷新后重试")})
        hours = _int_or_none(post.get("hours"))
        if action == A.REQUEST_EXTENSION and hours is None:
            raise ValidationError({"hours": _("请选择延期时长")})
        result = services.task_act(
            actor=request.user,
            case=case,
            action=action,
            expected_version=expected,
            note=post.get("note", ""),
            hours=hours,
            uploads=request.FILES.getlist("photos"),
            photo_kind=post.get("photo_kind") or PhotoKind.AFTER,
            client_id=client_id,
        )
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        return _act_error(request, pk, 400, "invalid", "; ".join(exc.messages), fields, case=case)
    except DomainError as exc:
        return _act_error(request, pk, exc.status, exc.code, str(exc.message), exc.fields, case=case)
    except PermissionDenied as exc:
        return _act_error(request, pk, 403, "forbidden", str(exc) or _("您没有此操作的权限"), case=case)
    label = _("处置记录") if action == services.RECORD else workflow.action_label(action)
    if result.replayed:
        message = _("“%(action)s”此前已提交成功, 未重复执行") % {"action": label}
    else:
        message = _("已提交“%(action)s”, 当前状态: %(status)s") % {
            "action": label,
            "status": result.case.get_status_display(),
        }
    if _wants_json(request):
        return JsonResponse(
            {"case": _result_json(result), "replayed": result.replayed, "message": message},
            json_dumps_params={"ensure_ascii": False},
        )
    messages.success(request, message)
    return redirect("mobile:task", pk=pk)


def _client_id(request: HttpRequest) -> str:
    """The action's idempotency key: the ``Idempotency-Key`` header (the offline queue sends
    it) or the form's ``client_id`` (a plain form post); both, if given, must agree."""
    header = request.headers.get("Idempotency-Key", "").strip()
    field = request.POST.get("client_id", "").strip()
    if header and field and header != field:
        raise ValidationError({"client_id": _("Idempotency-Key 与操作编号不一致")})
    return header or field


def _result_json(result: services.ActResult) -> dict[str, Any]:
    """The case as the action left it: a replay answers exactly what the first submission did."""
    status = result.status or result.case.status
    return {
        "id": result.case.pk,
        "status": status,
        "status_label": workflow.status_label(status),
        "version": result.version or result.case.version,
    }


def _act_error(
    request: HttpRequest,
    pk: int,
    status: int,
    code: str,
    message: str,
    fields: dict[str, Any] | None = None,
    *,
    case: Any = None,
) -> HttpResponseBase:
    if _wants_json(request):
        body: dict[str, Any] = {"error": {"code": code, "message": message, "fields": fields or {}}}
        if case is not None and status in (400, 403, 409):
            # Where the case stands now (the user may see it): the queue offers to retry on it.
            with contextlib.suppress(NotFound):
                body["case"] = _case_json(selectors.task_get(request.user, pk))
        return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    messages.error(request, message)
    return redirect("mobile:task", pk=pk)


# --- 上报问题 ------------------------------------------------------------------------------------


@mobile_page(Capability.CASES_INTAKE)
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponseBase:
    """A "problem found" becomes a case in one step (channel patrol; Idempotency-Key per form)."""
    if request.method == "POST":
        post = request.POST
        key = request.headers.get("Idempotency-Key") or post.get("idempotency_key", "")
        try:
            result = services.report_problem(
                actor=request.user,
                data=post,
                uploads=request.FILES.getlist("photos"),
                idempotency_key=key,
                patrol_id=_int_or_none(post.get("patrol")),
            )
        except ValidationError as exc:
            fields = exc.message_dict if hasattr(exc, "error_dict") else {}
            if _wants_json(request):
                return _error_json(400, "invalid", "; ".join(exc.messages), fields)
            messages.error(request, "; ".join(exc.messages))
            return redirect("mobile:report")
        except DomainError as exc:
            if _wants_json(request):
                return _error_json(exc.status, exc.code, str(exc.message), exc.fields)
            messages.error(request, str(exc.message))
            return redirect("mobile:report")
        case = result.case
        message = _("已上报, 查询码 %(code)s, 状态: %(status)s") % {
            "code": case.tracking_code,
            "status": case.get_status_display(),
        }
        if not result.created:
            message = _("该问题此前已上报(未重复创建), 查询码 %(code)s") % {"code": case.tracking_code}
        if _wants_json(request):
            return JsonResponse(
                {
                    "case": {**_case_json(case), "tracking_code": case.tracking_code},
                    "created": result.created,
                    "message": message,
                },
                status=201 if result.created else 200,
                json_dumps_params={"ensure_ascii": False},
            )
        messages.success(request, message)
        return redirect("mobile:report")
    context = _shell_context(request, "report")
    context.update(_report_context(request))
    return render(request, "mobile/report.html", context)


def _report_context(request: HttpRequest) -> dict[str, Any]:
    from civicgrid.patrols import selectors as patrol_selectors

    return {
        "categories": case_selectors.category_tree(),
        "active_patrol": patrol_selectors.active_patrol(request.user),
        "idempotency_key": uuid.uuid4().hex,
        "max_photos": settings.CASES_PHOTO_MAX_PER_REPORT,
        "reported": selectors.reported_today(request.user),
    }


# --- 巡查 ----------------------------------------------------------------------------------------


@mobile_page(Capability.PATROL)
@require_GET
def patrol(request: HttpRequest) -> HttpResponse:
    """The patrol recorder of the patrols app (its patrol.js and markup contract) inside the
    app shell, with the one-step report form at hand."""
    panel = selectors.patrol_panel(request.user)
    context = _shell_context(request, "patrol")
    context.update({"panel": panel, "today": list(panel.today[:PAGE_SIZE])})
    if has_capability(request.user, Capability.CASES_INTAKE):
        context.update(_report_context(request))
    return render(request, "mobile/patrol.html", context)


# --- 消息 ----------------------------------------------------------------------------------------


@mobile_page()
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(notification_selectors.inbox(request.user), MESSAGES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = _shell_context(request, "messages")
    context["page"] = page
    # A case's message opens the case in the phone app (its task page), not the desktop page.
    context["items"] = [{"n": n, "link": _phone_link(n)} for n in page]
    return render(request, "mobile/messages.html", context)


def _phone_link(notification: Any) -> str:
    if notification.object_type == "cases.case" and str(notification.object_id).isdigit():
        return reverse("mobile:task", args=[int(notification.object_id)])
    return str(notification.link or "")


# --- PWA plumbing --------------------------------------------------------------------------------


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """The generic offline page (no user data: it is precached for everyone)."""
    response = render(request, "mobile/offline.html", {})
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def session(request: HttpRequest) -> JsonResponse:
    """Who is logged in, with a fresh CSRF token: the offline queue asks before replaying so it
    never sends one user's actions in another's session. Never cached."""
    user = request.user
    body = {"user": user.pk if user.is_authenticated else None, "csrf": get_token(request)}
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    body = {
        "name": _("智慧玉泉 网格通"),
        "short_name": _("网格通"),
        "description": _("网格员手机端: 我的任务、巡查、上报问题"),
        "lang": "zh-CN",
        "start_url": reverse("mobile:tasks"),
        "scope": reverse("mobile:tasks"),
        "id": reverse("mobile:tasks"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "icons": [
            {"src": static("mobile/icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("mobile/icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": static("mobile/icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


def shell_version() -> str:
    """A digest of the shell's static files and the worker's own version: any change gives the
    precache a new name, so the next visit installs the new shell and drops the old one."""
    digest = hashlib.sha256(SW_VERSION.encode())
    for name in SHELL_STATIC:
        path = finders.find(name)
        if isinstance(path, str):
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /m/ so its scope is /m/ (Service-Worker-Allowed says so)."""
    config = {
        "version": shell_version(),
        "scope": reverse("mobile:tasks"),
        "shell": [reverse("mobile:offline"), *[static(name) for name in SHELL_STATIC]],
        "offline": reverse("mobile:offline"),
        "staticPrefix": settings.STATIC_URL,
        "pages": [reverse("mobile:tasks"), reverse("mobile:report"), reverse("mobile:patrol")],
        "noCache": [reverse("mobile:session"), reverse("mobile:sw"), reverse("mobile:manifest")],
        "queue": static("mobile/queue.js"),
        "session": reverse("mobile:session"),
        "syncTag": SYNC_TAG,
        "messages": {
            "synced": _("已同步"),
            "conflict": _("案件已被他人更新, 请刷新后重试"),
            "failed": _("提交失败"),
        },
    }
    response = render(
        request, "mobile/sw.js", {"config": json.dumps(config)}, content_type="application/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = reverse("mobile:tasks")
    response["Cache-Control"] = "no-cache"
    return response
