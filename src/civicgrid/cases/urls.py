"""Case pages (/cases/): inboxes, the case page and its actions, the hotline console, the
walk-in form, the map of open cases, and the public resident pages (report, track).

The public pages are also offered without the /cases/ prefix by ``public_urls`` (mount it at
the site root for /report/ and /track/<code>/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from civicgrid.cases import metrics_views, views

app_name = "cases"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.inbox, name="inbox"),
    path("metrics/", metrics_views.metrics_page, name="metrics"),  # metrics helper
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/", views.act, name="act"),
    path("<int:pk>/joint/", views.joint_request, name="joint_request"),
    path("assists/<int:assist_id>/act/", views.joint_act, name="joint_act"),
    path("<int:pk>/photos/", views.photo_upload, name="photo_upload"),
    path("photos/<int:photo_id>/", views.photo_file, name="photo_file"),
    path("photos/<int:photo_id>/visibility/", views.photo_visibility, name="photo_visibility"),
    path("console/", views.console, name="console"),
    path("console/caller/", views.console_caller, name="console_caller"),
    path("console/duplicates/", views.console_duplicates, name="console_duplicates"),
    path("walk-in/", views.walk_in, name="walk_in"),
    path("places/", views.places, name="places"),
    path("map/", views.case_map, name="map"),
    path("map/points/", views.case_map_points, name="map_points"),
    # Public (no account): the resident's report, tracking and rating.
    path("report/", views.report, name="report"),
    path("report/grids.geojson", views.public_grids, name="public_grids"),
    path("track/", views.track_lookup, name="track_lookup"),
    path("track/<str:code>/", views.track, name="track"),
]
