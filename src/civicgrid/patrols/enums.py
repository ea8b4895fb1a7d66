from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PatrolStatus(models.TextChoices):
    ACTIVE = "active", _("进行中")
    ENDED = "ended", _("已结束")
    AUTO_CLOSED = "auto_closed", _("自动结束")


class ReviewStatus(models.TextChoices):
    """The review of a flagged (implausible) track. Unflagged tracks need none."""

    NONE = "", _("无需核查")
    PENDING = "pending", _("待核查")
    APPROVED = "approved", pgettext_lazy("patrol review status", "核查通过")
    REJECTED = "rejected", pgettext_lazy("patrol review status", "核查不通过")
