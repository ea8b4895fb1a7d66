from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MobileConfig(AppConfig):
    """The grid worker's phone app (网格通, a PWA at /m/). Owns no models: it reads through
    the cases, patrols and notifications selectors and writes through their services."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "civicgrid.mobile"
    label = "mobile"
    verbose_name = _("网格通")
