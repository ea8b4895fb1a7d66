"""The resident pages at the site root: ``path("", include("civicgrid.cases.public_urls"))``
in config/urls.py gives /report/, /track/ and /track/<code>/ (the same views as
/cases/report/ and /cases/track/...)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from civicgrid.cases import views

app_name = "cases_public"

urlpatterns: list[URLPattern | URLResolver] = [
    path("report/", views.report, name="report"),
    path("track/", views.track_lookup, name="track_lookup"),
    path("track/<str:code>/", views.track, name="track"),
]
