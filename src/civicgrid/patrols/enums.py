from django.db import models
from django.utils.translation import gettext_lazy as _


class PatrolStatus(models.TextChoices):
    ACTIVE = "active", _("进行中")
    ENDED = "ended", _("已结束")
    AUTO_CLOSED = "auto_closed", _("自动结束")
