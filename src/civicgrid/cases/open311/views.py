"""Open311 GeoReport v2 views (plain Django, outside the session-authenticated JSON API).

GET  discovery.{fmt}                 the service discovery document
GET  services.{fmt}                  the service list (one service per public leaf category)
GET  services/{service_code}.{fmt}   a service definition with its attributes
POST requests.{fmt}                  create a service request (form-encoded, api_key required)
GET  requests.{fmt}                  search service requests (the spec's filters)
GET  requests/{id}.{fmt}             one service request
GET  tokens/{token}.{fmt}            the service request a token stands for

Errors are the spec's array of {code, description} with 400, 403, 404 (and 429, 409)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from civicgrid.cases import apikeys, submissions
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import (
    AttributeDatatype,
    Case,
    Category,
    CategoryAttribute,
    IntakeRecord,
    SubmissionStatus,
)
from civicgrid.cases.open311 import documents
from civicgrid.cases.open311.intake import intake_with_record
from civicgrid.cases.open311.render import error_response, respond, w3c
from civicgrid.common.errors import DomainError
from civicgrid.territory.models import Building

View = Callable[..., HttpResponse]


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def open311_view(view: View) -> View:
    """Turn Open311Error, DomainError and ValidationError into the spec's error array."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, fmt=fmt, **kwargs)
        except Open311Error as exc:
            return error_response(fmt, exc.status, [(exc.status, exc.description)])
        except DomainError as exc:
            return error_response(fmt, exc.status, [(exc.status, str(exc.message))])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                errors = [(400, f"{field}: {msg}") for field, msgs in exc.message_dict.items() for msg in msgs]
            else:
                errors = [(400, msg) for msg in exc.messages]
            return error_response(fmt, 400, errors)

    return wrapper


# --- discovery and services -----------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
@open311_view
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    changed = Category.objects.aggregate(m=Max("updated_at"))["m"] or timezone.now()
    document = {
        "changeset": w3c(changed),
        "contact": getattr(settings, "OPEN311_CONTACT", _("玉泉区网格化服务管理指挥中心 960116")),
        "key_service": getattr(settings, "OPEN311_KEY_SERVICE", _("请联系平台管理员申请 api_key")),
        "endpoints": [
            {
                "specification": documents.SPECIFICATION_URL,
                "url": request.build_absolute_uri("/open311/v2/").rstrip("/"),
                "changeset": w3c(changed),
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, "discovery", document)


@require_http_methods(["GET", "HEAD"])
@open311_view
def services_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    return respond(fmt, "services", documents.services_document())


@require_http_methods(["GET", "HEAD"])
@open311_view
def service_definition(request: HttpRequest, service_code: str, *, fmt: str) -> HttpResponse:
    category = documents.service_category(service_code)
    if category is None:
        raise Open311Error(404, _("service_code 不存在: %(code)s") % {"code": service_code})
    return respond(fmt, "service_definition", documents.definition_document(category))


# --- service requests -----------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@open311_view
def requests_collection(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    return _search(request, fmt)


@require_http_methods(["GET", "HEAD"])
@open311_view
def request_detail(request: HttpRequest, request_id: str, *, fmt: str) -> HttpResponse:
    case = documents.public_requests().filter(pk=int(request_id)).first() if request_id.isdigit() else None
    if case is None:
        raise Open311Error(404, _("service_request_id 不存在: %(id)s") % {"id": request_id})
    return respond(fmt, "service_requests", documents.requests_document([case]))


@require_http_methods(["GET", "HEAD"])
@open311_view
def token_detail(request: HttpRequest, token: str, *, fmt: str) -> HttpResponse:
    """A token from POST requests: its service_request_id once the case exists (the spec's
    answer while it does not: the token alone). Hidden and non-public cases stay 404, and so
    does a submission that failed."""
    submission = submissions.submission_by_token(token)
    if submission is not None and submission.case_id is None:
        if submission.status == SubmissionStatus.FAILED:
            raise Open311Error(404, _("token 不存在: %(t)s") % {"t": token})
        return respond(fmt, "service_requests", [{"token": submission.token}])
    record = (
        IntakeRecord.objects.filter(token=token, case__is_hidden=False, case__category__is_public=True)
        .only("case_id", "token")
        .first()
    )
    if record is None:
        raise Open311Error(404, _("token 不存在: %(t)s") % {"t": token})
    return respond(fmt, "service_requests", [{"service_request_id": str(record.case_id), "token": record.token}])


# --- GET requests: the spec's filters -----------------------------------------------------------


def parse_w3c(value: str, name: str) -> datetime:
    """A W3C datetime (or a bare date, read as local midnight)."""
    text = value.strip().replace(" ", "+")  # an unescaped '+' in a query string arrives as ' '
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise Open311Error(400, _("%(name)s 不是合法的 W3C 日期时间: %(v)s") % {"name": name, "v": value})
        parsed = datetime(day.year, day.month, day.day)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _csv(params: QueryDict, name: str) -> list[str]:
    return [part.strip() for part in params.get(name, "").split(",") if part.strip()]


def _search(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.GET
    qs = documents.public_requests()
    ids = _csv(params, "service_request_id")
    if ids:
        # The spec: with service_request_id, the other parameters are ignored.
        if not all(i.isdigit() for i in ids):
            raise Open311Error(400, _("service_request_id 必须是以逗号分隔的数字"))
        cases = list(qs.filter(pk__in=[int(i) for i in ids[: documents.MAX_RESULTS]]).order_by("-received_at", "-id"))
        return respond(fmt, "service_requests", documents.requests_document(cases))

    span = timedelta(days=documents.MAX_SPAN_DAYS)
    start_raw, end_raw = params.get("start_date", ""), params.get("end_date", "")
    start = parse_w3c(start_raw, "start_date") if start_raw else None
    end = parse_w3c(end_raw, "end_date") if end_raw else None
    if start is not None and end is not None:
        if end < start:
            raise Open311Error(400, _("end_date 不能早于 start_date"))
        if end - start > span:
            raise Open311Error(400, _("start_date 与 end_date 相隔不能超过%(n)d天") % {"n": documents.MAX_SPAN_DAYS})
    elif start is not None:
        end = start + span
    else:
        end = end or timezone.now()
        start = end - span
    qs = qs.filter(received_at__gte=start, received_at__lte=end)

    codes = _csv(params, "service_code")
    if codes:
        qs = qs.filter(category__code__in=codes)
    statuses = _csv(params, "status")
    if statuses:
        unknown = [s for s in statuses if s not in ("open", "closed")]
        if unknown:
            raise Open311Error(400, _("status 只能是 open 或 closed"))
        wanted = sorted({st for s in statuses for st in documents.statuses_for(s)})
        qs = qs.filter(status__in=wanted)
    cases = list(qs.order_by("-received_at", "-id")[: documents.MAX_RESULTS])
    return respond(fmt, "service_requests", documents.requests_document(cases))


# --- POST requests ----------------------------------------------------------------------------


def _attribute_values(params: QueryDict) -> dict[str, list[str]]:
    """attribute[code]=v and attribute[code][]=v1&attribute[code][]=v2 -> {code: [values]}."""
    found: dict[str, list[str]] = {}
    for name in params:
        if not name.startswith("attribute[") or "]" not in name:
            continue
        code = name[len("attribute[") : name.index("]")]
        values = [v for v in params.getlist(name) if v != ""]
        if code:
            found.setdefault(code, []).extend(values)
    return found


def _finite_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def validate_attributes(category: Category, given: dict[str, list[str]]) -> dict[str, Any]:
    """The answers checked against the service definition: datatypes, lists, required."""
    definition = {a.code: a for a in documents.attributes_of(category)}
    unknown = sorted(set(given) - set(definition))
    if unknown:
        raise Open311Error(400, _("未知的 attribute: %(codes)s") % {"codes": ", ".join(unknown)})
    answers: dict[str, Any] = {}
    for code, attribute in definition.items():
        values = given.get(code, [])
        if not attribute.variable:
            continue
        if not values:
            if attribute.required:
                raise Open311Error(
                    400, _("缺少必填的 attribute[%(code)s]: %(d)s") % {"code": code, "d": attribute.description}
                )
            continue
        answers[code] = _check_value(attribute, values)
    return answers


def _check_value(attribute: CategoryAttribute, values: list[str]) -> Any:
    code, datatype = attribute.code, attribute.datatype
    bad = _("attribute[%(code)s] 的值不合法: %(v)s")
    if datatype == AttributeDatatype.MULTIVALUELIST:
        keys = set(attribute.value_keys())
        wrong = [v for v in values if v not in keys]
        if wrong:
            raise Open311Error(400, bad % {"code": code, "v": ", ".join(wrong)})
        return list(dict.fromkeys(values))
    if len(values) > 1:
        raise Open311Error(400, _("attribute[%(code)s] 只能有一个值") % {"code": code})
    value = values[0].strip()
    if datatype == AttributeDatatype.SINGLEVALUELIST:
        if value not in attribute.value_keys():
            raise Open311Error(400, bad % {"code": code, "v": value})
        return value
    if datatype == AttributeDatatype.NUMBER:
        number = _finite_number(value)
        if number is None:
            raise Open311Error(400, bad % {"code": code, "v": value})
        return int(number) if number.is_integer() else number
    if datatype == AttributeDatatype.DATETIME:
        return w3c(parse_w3c(value, f"attribute[{code}]"))
    limit = 200 if datatype == AttributeDatatype.STRING else 2000
    if len(value) > limit:
        raise Open311Error(400, _("attribute[%(code)s] 不能超过%(n)d个字") % {"code": code, "n": limit})
    return value


def _location(params: QueryDict) -> dict[str, Any]:
    lat, lon = params.get("lat", "").strip(), params.get("long", "").strip()
    address = params.get("address_string", "").strip()
    address_id = params.get("address_id", "").strip()
    if lat or lon:
        if not (lat and lon):
            raise Open311Error(400, _("lat 和 long 必须同时提供"))
        y, x = _finite_number(lat), _finite_number(lon)
        if x is None or y is None:
            raise Open311Error(400, _("lat 和 long 必须是数字"))
        return {"lat": y, "lon": x, "address": address}
    if address_id:
        building = Building.objects.select_related("compound").filter(code=address_id).first()
        if building is None:
            raise Open311Error(400, _("address_id 不存在: %(id)s") % {"id": address_id})
        point = building.geometry if isinstance(building.geometry, dict) else {}
        coords = point.get("coordinates") if point.get("type") == "Point" else None
        located: dict[str, Any] = {"address": address or f"{building.compound.name} {building.name}"}
        if isinstance(coords, list) and len(coords) >= 2:
            located.update(lon=float(coords[0]), lat=float(coords[1]))
        return located
    if address:
        return {"address": address}
    raise Open311Error(400, _("请提供位置: lat 和 long, 或 address_string, 或 address_id"))


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.POST
    api_key = apikeys.apikey_authenticate(params.get("api_key"))
    apikeys.apikey_throttle(api_key)
    service_code = params.get("service_code", "").strip()
    if not service_code:
        raise Open311Error(400, _("缺少 service_code"))
    category = documents.service_category(service_code)
    if category is None:
        raise Open311Error(400, _("service_code 不存在: %(code)s") % {"code": service_code})
    answers = validate_attributes(category, _attribute_values(params))
    location = _location(params)
    description = params.get("description", "").strip()
    media_url = params.get("media_url", "").strip()
    if media_url and not media_url.startswith(("http://", "https://")):
        raise Open311Error(400, _("media_url 必须是 http(s) 地址"))
    if len(media_url) > 500:
        raise Open311Error(400, _("media_url 不能超过500个字符"))
    summary = description.splitlines()[0] if description else ""
    title = f"{category.name}: {summary}" if summary else category.name
    name = " ".join(x for x in (params.get("last_name", "").strip(), params.get("first_name", "").strip()) if x)
    data = {
        "title": title[:100],
        "description": description or category.name,
        "category": category.code,
        "reporter_name": name[:50],
        "reporter_phone": params.get("phone", "").strip(),
        **location,
    }
    key = request.headers.get("Idempotency-Key")
    if not submissions.async_intake_enabled():
        result = intake_with_record(
            actor=None,
            channel=Channel.OPEN311,
            data=data,
            idempotency_key=key,
            api_key=api_key,
            attributes=answers,
            media_url=media_url,
            with_token=True,
        )
        case = result.case
        token = result.record.token if result.record is not None else None
        synced = {"service_request_id": str(case.pk), "token": token, "service_notice": service_notice(case)}
        return respond(fmt, "service_requests", [{**synced, "account_id": None}], status=201 if result.created else 200)
    # Accepted now, made into a case moments later by the drainer (cases/submissions.py): the
    # answer carries the spec's token (GET tokens/{token} gives the service_request_id once
    # the case exists); a replayed key whose case exists also gets its service_request_id.
    accepted = submissions.submission_accept(
        channel=Channel.OPEN311,
        data=data,
        api_key=api_key,
        idempotency_key=key,
        attributes=answers,
        media_url=media_url,
        category=category,
    )
    submission = accepted.submission
    row: dict[str, Any] = {}
    if submission.case_id:
        row["service_request_id"] = str(submission.case_id)
    row.update(
        token=submission.token,
        service_notice=_notice(submissions.expected_close(submission, category)),
        account_id=None,
    )
    return respond(fmt, "service_requests", [row], status=200 if submission.case_id else 202)


def _notice(close_due: datetime | None) -> str:
    if close_due is None:
        return str(_("已受理"))
    due = timezone.localtime(close_due).strftime("%Y-%m-%d %H:%M")
    return str(_("已受理, 预计 %(due)s 前办结") % {"due": due})


def service_notice(case: Case) -> str:
    return _notice(case.close_due)
