"""Open311 GeoReport v2 routes: every resource with a .xml or .json suffix."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from civicgrid.cases.open311 import views

FMT = r"\.(?P<fmt>xml|json)$"

app_name = "open311"

urlpatterns: list[URLPattern] = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.services_list, name="services"),
    re_path(r"^services/(?P<service_code>[^/]+?)" + FMT, views.service_definition, name="service"),
    re_path(r"^requests" + FMT, views.requests_collection, name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]+?)" + FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token_detail, name="token"),
]
