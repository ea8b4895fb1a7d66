"""Open311 renderers: one plain-data document (dicts, lists, scalars) rendered as the spec's
XML or as JSON. XML element names are the data's keys; list items take the singular tag the
spec uses (``LIST_ITEM_TAGS``). Both are UTF-8 with the spec's content types."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone

FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
LIST_ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


def w3c(value: datetime | None) -> str | None:
    """A W3C datetime with the local offset, e.g. 2025-05-01T09:30:00+08:00."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3c(value) or ""
    return str(value)


def _build(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, child in value.items():
            _build(element, key, child)
    elif isinstance(value, list):
        item_tag = LIST_ITEM_TAGS.get(tag, "item")
        for child in value:
            _build(element, item_tag, child)
    else:
        element.text = _scalar(value)


def to_xml(root: str, value: Any) -> bytes:
    """``value`` (a dict, or a list of items) as an XML document under ``root``."""
    holder = ET.Element("holder")
    _build(holder, root, value)
    document = holder[0]
    ET.indent(document, space="  ")
    body: bytes = ET.tostring(document, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return w3c(value)
    raise TypeError(f"not JSON serialisable: {type(value)!r}")


def to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode()


def respond(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """The document ``value`` as an HTTP response in ``fmt`` (``xml`` or ``json``)."""
    body = to_xml(root, value) if fmt == "xml" else to_json(value)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, status: int, errors: list[tuple[int, str]]) -> HttpResponse:
    """The spec's error array: <errors><error><code/><description/></error></errors> or
    [{"code": ..., "description": ...}]."""
    items = [{"code": code, "description": description} for code, description in errors]
    return respond(fmt, "errors", items, status=status)
