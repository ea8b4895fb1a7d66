from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CamerasConfig(AppConfig):
    name = "civicgrid.cameras"
    label = "cameras"
    verbose_name = _("视频探头")

    def ready(self) -> None:
        from civicgrid.cameras.tasks import register_periodic_jobs

        register_periodic_jobs()
