from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    DISTRICT = "district", _("区")
    STREET = "street", _("街道/镇")
    COMMUNITY = "community", _("社区")
    GRID = "grid", _("网格")


class StreetKind(models.TextChoices):
    STREET = "street", _("街道")
    TOWN = "town", _("镇")


# Code length of each level: 6-digit administrative code, then 3 (street), 3 (community),
# then 2 or 3 (grid), in the GB/T 30428 / CJ/T 213 style.
LEVEL_CODE_LENGTHS: dict[str, tuple[int, ...]] = {
    AreaLevel.DISTRICT: (6,),
    AreaLevel.STREET: (9,),
    AreaLevel.COMMUNITY: (12,),
    AreaLevel.GRID: (14, 15),
}

LEVEL_ORDER = [AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID]
