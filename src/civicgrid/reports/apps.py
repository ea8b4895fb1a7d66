from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "civicgrid.reports"
    label = "reports"
    verbose_name = _("统计报表")

    def ready(self) -> None:
        from civicgrid.reports.tasks import register_periodic_jobs

        register_periodic_jobs()
