"""Case pages (/cases/). The pages themselves are built by the pages work on top of
civicgrid.cases.selectors and services; this module gives them their namespace."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from civicgrid.cases import metrics_views

app_name = "cases"

urlpatterns: list[URLPattern | URLResolver] = [
    path("metrics/", metrics_views.metrics_page, name="metrics"),  # metrics helper
]
