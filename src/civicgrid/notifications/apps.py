from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "civicgrid.notifications"
    label = "notifications"
    verbose_name = _("消息通知")

    def ready(self) -> None:
        from civicgrid.notifications import receivers
        from civicgrid.notifications.tasks import register_periodic_jobs

        receivers.connect()
        register_periodic_jobs()
