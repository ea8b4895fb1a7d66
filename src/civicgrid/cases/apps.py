from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "civicgrid.cases"
    label = "cases"
    verbose_name = _("案件")

    def ready(self) -> None:
        from civicgrid.cases.tasks import register_periodic_jobs

        register_periodic_jobs()
