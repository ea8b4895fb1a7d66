"""Patrols (巡查): a worker's walk or ride over their road segments or grids, its GPS track,
and the per-territory duty ("at least N patrols a day", optional time windows)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.common.models import TimeStampedModel
from civicgrid.patrols.enums import PatrolStatus, ReviewStatus
from civicgrid.territory.models import Duty


class PatrolPolicy(TimeStampedModel):
    """The patrol duty of a territory node and everything below it (the nearest ancestor
    with a policy wins; without one, the PATROLS_DEFAULT_* settings apply).

    ``windows`` is a list of {"start": "HH:MM" or "", "end": "HH:MM" or ""}; each window
    needs one counted patrol started inside it ("" = open end), e.g.
    [{"start": "", "end": "10:00"}, {"start": "15:00", "end": ""}]."""

    area_code = models.CharField(_("辖区编码"), max_length=20, unique=True)
    times_per_day = models.PositiveSmallIntegerField(_("每日巡查次数"), default=2)
    windows = models.JSONField(_("时间段"), default=list, blank=True)
    coverage_threshold = models.FloatField(_("覆盖率达标线"), default=0.8)

    class Meta:
        verbose_name = _("巡查要求")
        verbose_name_plural = _("巡查要求")
        ordering = ["area_code"]

    def __str__(self) -> str:
        return f"{self.area_code}: {self.times_per_day}"


class Patrol(TimeStampedModel):
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("巡查人"), on_delete=models.PROTECT, related_name="patrols"
    )
    duty = models.CharField(_("职责"), max_length=16, choices=Duty.choices)
    area_code = models.CharField(max_length=20)
    day = models.DateField(_("日期"))
    # Local minutes after midnight of started_at (like ``day``, in settings.TIME_ZONE): the
    # duty's time windows compare integers instead of converting every timestamp.
    start_minute = models.PositiveSmallIntegerField(_("开始时刻(分钟)"), default=0)
    client_id = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=PatrolStatus.choices, default=PatrolStatus.ACTIVE)
    point_count = models.PositiveIntegerField(_("轨迹点数"), default=0)
    distance_m = models.FloatField(_("里程(米)"), default=0)
    coverage = models.FloatField(_("覆盖率"), default=0)
    counts_toward_duty = models.BooleanField(_("计入巡查任务"), default=False)
    flagged = models.BooleanField(_("待核查"), default=False)
    flag_reasons = models.JSONField(_("核查原因"), default=list, blank=True)
    review_status = models.CharField(
        _("核查状态"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.NONE, blank=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    review_note = models.CharField(_("核查意见"), max_length=500, blank=True, default="")
    # [[lon, lat], ...]: the track simplified for maps (a few hundred points at most), written
    # whenever the track is evaluated, so a map of a day's tracks reads no track points.
    simplified_track = models.JSONField(_("简化轨迹"), default=list, blank=True)

    class Meta:
        verbose_name = _("巡查")
        verbose_name_plural = _("巡查")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["worker", "day"]),
            models.Index(fields=["area_code", "day"]),
            models.Index(fields=["status", "day"]),
            models.Index(fields=["day", "worker"], name="patrol_day_worker"),
            models.Index(
                fields=["area_code", "started_at"],
                condition=models.Q(review_status="pending"),
                name="patrol_review_pending",
            ),
        ]
        constraints = [
            # One active patrol per worker, enforced by the database too (a race of two
            # starts cannot create two).
            models.UniqueConstraint(
                fields=["worker"], condition=models.Q(status=PatrolStatus.ACTIVE), name="patrol_one_active_per_worker"
            ),
            models.UniqueConstraint(
                fields=["worker", "client_id"], condition=~models.Q(client_id=""), name="patrol_client_id_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker} · {self.started_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.start_minute = local_minute(self.started_at)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "started_at" in update_fields:
            kwargs["update_fields"] = {*update_fields, "start_minute"}
        super().save(*args, **kwargs)


def local_minute(moment: Any) -> int:
    """Minutes after local midnight (settings.TIME_ZONE) of an aware datetime."""
    local = timezone.localtime(moment)
    return local.hour * 60 + local.minute


class TrackPoint(models.Model):
    """One GPS fix. (patrol, recorded_at) is unique: a re-sent point is a duplicate."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="points")
    recorded_at = models.DateTimeField()
    lon = models.FloatField()
    lat = models.FloatField()
    accuracy = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["patrol", "recorded_at"]
        constraints = [models.UniqueConstraint(fields=["patrol", "recorded_at"], name="trackpoint_once")]

    def __str__(self) -> str:
        return f"{self.patrol_id} @ {self.recorded_at:%H:%M:%S}"
