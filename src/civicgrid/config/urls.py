from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve as static_serve

from civicgrid.config.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("civicgrid.accounts.urls")),
    path("territory/", include("civicgrid.territory.urls")),
    path("people/", include("civicgrid.people.urls")),
    path("audit/", include("civicgrid.audit.urls")),
    path("cases/", include("civicgrid.cases.urls")),
    path("notifications/", include("civicgrid.notifications.urls")),
    path("patrols/", include("civicgrid.patrols.urls")),
    path("dashboards/", include("civicgrid.dashboards.urls")),
    path("open/", include("civicgrid.dashboards.public")),  # the public transparency page
    path("m/", include("civicgrid.mobile.urls")),
    path("indicators/", include("civicgrid.indicators.urls")),
    path("reports/", include("civicgrid.reports.urls")),
    path("cameras/", include("civicgrid.cameras.urls")),
    path("open311/v2/", include("civicgrid.cases.open311.urls")),
    # The resident's pages at short addresses (printed on receipts and posters).
    path("", include("civicgrid.cases.public_urls")),
    path("media/<path:path>", static_serve, {"document_root": settings.MEDIA_ROOT}),
]

__all__ = ["i18n_patterns", "urlpatterns"]
