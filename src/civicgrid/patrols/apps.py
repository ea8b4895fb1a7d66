from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolsConfig(AppConfig):
    name = "civicgrid.patrols"
    label = "patrols"
    verbose_name = _("巡查")

    def ready(self) -> None:
        from civicgrid.patrols.tasks import register_periodic_jobs

        register_periodic_jobs()
