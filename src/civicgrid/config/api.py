"""The JSON API (django-ninja). Each app contributes a thin router; OpenAPI at /api/docs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import SessionAuth

from civicgrid.common.errors import DomainError

api = NinjaAPI(
    title="CivicGrid API",
    version="1",
    description="智慧玉泉 grid-governance platform. Session or API-key authenticated; every list is paginated "
    "and filtered by the caller's territorial scope.",
    auth=SessionAuth(),
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: object) -> HttpResponse:
    return api.create_response(request, {"error": {"code": code, "message": message, **extra}}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, str(exc.message), fields=exc.fields)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {}
    return _error(request, 400, "invalid", "; ".join(exc.messages), fields=fields)


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _error(request, 422, "invalid_input", _("输入内容不合法"), details=exc.errors)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or _("没有权限"))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", _("请先登录"))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "error", str(exc))


def register_routers() -> None:
    """Apps add their routers here, in one place."""
    from civicgrid.accounts.api import router as accounts_router
    from civicgrid.assessment.api import router as assessment_router
    from civicgrid.audit.api import router as audit_router
    from civicgrid.cameras.api import router as cameras_router
    from civicgrid.cases.api import router as cases_router
    from civicgrid.cases.metrics_api import router as cases_metrics_router
    from civicgrid.dashboards.api import router as dashboards_router
    from civicgrid.indicators.api import router as indicators_router
    from civicgrid.notifications.api import router as notifications_router
    from civicgrid.patrols.api import router as patrols_router
    from civicgrid.people.api import router as people_router
    from civicgrid.reports.api import router as reports_router
    from civicgrid.territory.api import router as territory_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/territory", territory_router)
    api.add_router("/people", people_router)
    api.add_router("/audit", audit_router)
    api.add_router("/cases/metrics", cases_metrics_router)  # before /cases: its /{case_id} is an int
    api.add_router("/cases", cases_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/cameras", cameras_router)
    api.add_router("/patrols", patrols_router)
    api.add_router("/dashboards", dashboards_router)
    api.add_router("/assessment", assessment_router)
    api.add_router("/indicators", indicators_router)
    api.add_router("/reports", reports_router)


register_routers()
