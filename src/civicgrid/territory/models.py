"""The territory: district > street/town > community > grid, and what sits in a grid.

Every node's ``code`` is hierarchical (a child's code starts with its parent's), so the
code is also the materialised path used for territorial scope."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.common.models import TimeStampedModel
from civicgrid.territory.enums import AreaLevel, StreetKind


class Area(TimeStampedModel):
    """One node of the administrative tree, at any level."""

    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=AreaLevel.choices, db_index=True)
    street_kind = models.CharField(_("街道类型"), max_length=8, choices=StreetKind.choices, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # GeoJSON geometry (Polygon or MultiPolygon), WGS 84 longitude/latitude.
    geometry = models.JSONField(_("边界"), null=True, blank=True)
    area_km2 = models.DecimalField(_("面积(平方公里)"), max_digits=10, decimal_places=4, null=True, blank=True)
    population = models.PositiveIntegerField(_("人口"), default=0)
    households = models.PositiveIntegerField(_("户数"), default=0)
    properties = models.JSONField(_("其他属性"), default=dict, blank=True)

    class Meta:
        verbose_name = _("辖区节点")
        verbose_name_plural = _("辖区节点")
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "code"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Compound(TimeStampedModel):
    """A residential compound (小区) inside a grid."""

    grid = models.ForeignKey(Area, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="compounds")
    area_code = models.CharField(max_length=20, db_index=True)
    code = models.CharField(_("编码"), max_length=24, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    geometry = models.JSONField(_("位置"), null=True, blank=True)
    has_property_management = models.BooleanField(_("有物业"), default=True)

    class Meta:
        verbose_name = _("小区")
        verbose_name_plural = _("小区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Building(TimeStampedModel):
    """A building (楼栋) inside a compound."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="buildings")
    grid = models.ForeignKey(Area, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="buildings")
    area_code = models.CharField(max_length=20, db_index=True)
    code = models.CharField(_("编码"), max_length=28, unique=True)
    name = models.CharField(_("楼号"), max_length=50)
    floors = models.PositiveSmallIntegerField(_("层数"), default=6)
    units = models.PositiveSmallIntegerField(_("单元数"), default=1)
    geometry = models.JSONField(_("位置"), null=True, blank=True)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.compound.name} {self.name}"


class Household(TimeStampedModel):
    """A household (户) living in a building."""

    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="households")
    area_code = models.CharField(max_length=20, db_index=True)
    code = models.CharField(_("户编码"), max_length=36, unique=True)
    unit = models.CharField(_("单元"), max_length=10, blank=True)
    room = models.CharField(_("室"), max_length=10)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.building} {self.unit}-{self.room}"


class RoadSegment(TimeStampedModel):
    """A road segment (路段): a line that may cross several grids."""

    street = models.ForeignKey(Area, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="road_segments")
    area_code = models.CharField(max_length=20, db_index=True)
    code = models.CharField(_("编码"), max_length=24, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    geometry = models.JSONField(_("走向"))  # GeoJSON LineString or MultiLineString
    length_m = models.PositiveIntegerField(_("长度(米)"), default=0)
    grids = models.ManyToManyField(Area, verbose_name=_("经过网格"), related_name="crossing_roads", blank=True)

    class Meta:
        verbose_name = _("路段")
        verbose_name_plural = _("路段")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class BoundaryVersion(models.Model):
    """A single-row counter bumped whenever any boundary changes, so every process can
    tell cheaply that its in-memory STRtree is stale."""

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"boundary version {self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "changed_at": self.changed_at.isoformat()}

    @classmethod
    def current(cls) -> int:
        """The current boundary version (0 before the first boundary ever saved)."""
        value = cls.objects.filter(pk=1).values_list("version", flat=True).first()
        return int(value or 0)

    @classmethod
    def bump(cls) -> int:
        """Increment the counter (creating the row on first use) and return the new value."""
        if not cls.objects.filter(pk=1).update(version=models.F("version") + 1):
            cls.objects.get_or_create(pk=1, defaults={"version": 0})
            cls.objects.filter(pk=1).update(version=models.F("version") + 1)
        return cls.current()


class Duty(models.TextChoices):
    GRID_CHIEF = "grid_chief", _("网格长")
    AREA_CHIEF = "area_chief", _("片长")
    ROAD_CHIEF = "road_chief", _("路长")


class Responsibility(TimeStampedModel):
    """Who answers for which grid or road segment (责任网格/责任路段).

    Scope (what an account may see) is its one territory node, ``User.area``; duty is
    this table. A grid chief of several grids is bound to their community and owns each
    grid here; a road chief owns road segments; an area chief (片长) owns a patch of grids."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("责任人"), on_delete=models.CASCADE, related_name="responsibilities"
    )
    duty = models.CharField(_("职责"), max_length=16, choices=Duty.choices, db_index=True)
    area = models.ForeignKey(
        Area,
        verbose_name=_("责任网格"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="responsibilities",
    )
    road_segment = models.ForeignKey(
        RoadSegment,
        verbose_name=_("责任路段"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="responsibilities",
    )
    area_code = models.CharField(max_length=20, db_index=True)

    class Meta:
        verbose_name = _("责任分工")
        verbose_name_plural = _("责任分工")
        ordering = ["area_code", "duty"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(area__isnull=False, road_segment__isnull=True)
                    | models.Q(area__isnull=True, road_segment__isnull=False)
                ),
                name="responsibility_one_target",
            ),
            models.UniqueConstraint(fields=["user", "duty", "area"], name="uniq_area_responsibility"),
            models.UniqueConstraint(fields=["user", "duty", "road_segment"], name="uniq_road_responsibility"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The duty is scoped where its target lies, so scope filters need no join.
        target = self.area.code if self.area is not None else (self.road_segment.area_code if self.road_segment else "")
        self.area_code = target or self.area_code
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        target = self.area or self.road_segment
        return f"{self.user} · {self.get_duty_display()} · {target}"
