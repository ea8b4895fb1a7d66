from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import factory
import factory.declarations
import factory.django
import factory.faker
from django.utils import timezone

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.models import Area

TEST_PASSWORD = "Grid-Test-2026!"


def square(x0: float, y0: float, size_x: float, size_y: float) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + size_x, y0], [x0 + size_x, y0 + size_y], [x0, y0 + size_y], [x0, y0]]
    return {"type": "Polygon", "coordinates": [[[round(a, 6), round(b, 6)] for a, b in ring]]}


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.declarations.Sequence(lambda n: f"user{n}")
    display_name = factory.faker.Faker("name", locale="zh_CN")
    role = Role.COMMUNITY_WORKER
    is_active = True
    password_changed_at = factory.declarations.LazyFunction(timezone.now)
    password = factory.django.Password(TEST_PASSWORD)


@dataclass
class SampleDistrict:
    """A 2-street x 2-community x 2-grid district on a regular lattice.

    District 150104 spans lon 111.60-111.64, lat 40.76-40.78. Street i takes the
    western/eastern half, community j the southern/northern half of its street,
    and grid k the western/eastern half of its community."""

    district: Area
    streets: list[Area] = field(default_factory=list)
    communities: list[Area] = field(default_factory=list)
    grids: list[Area] = field(default_factory=list)

    def grid_center(self, grid: Area) -> tuple[float, float]:
        ring = grid.geometry["coordinates"][0]  # type: ignore[index]
        xs = [p[0] for p in ring[:-1]]
        ys = [p[1] for p in ring[:-1]]
        return (sum(xs) / len(xs), sum(ys) / len(ys))


def build_sample_district() -> SampleDistrict:
    x0, y0, width, height = 111.60, 40.76, 0.04, 0.02
    district = Area.objects.create(
        code="150104", name="玉泉区", level=AreaLevel.DISTRICT, geometry=square(x0, y0, width, height)
    )
    sample = SampleDistrict(district=district)
    for i in range(2):
        sx = x0 + i * width / 2
        street = Area.objects.create(
            code=f"150104{i + 1:03d}",
            name=["兴隆巷街道", "小召街道"][i],
            level=AreaLevel.STREET,
            street_kind="street",
            parent=district,
            geometry=square(sx, y0, width / 2, height),
        )
        sample.streets.append(street)
        for j in range(2):
            cy = y0 + j * height / 2
            community = Area.objects.create(
                code=f"{street.code}{j + 1:03d}",
                name=f"{street.name[:3]}社区{j + 1}",
                level=AreaLevel.COMMUNITY,
                parent=street,
                geometry=square(sx, cy, width / 2, height / 2),
            )
            sample.communities.append(community)
            for k in range(2):
                gx = sx + k * width / 4
                grid = Area.objects.create(
                    code=f"{community.code}{k + 1:02d}",
                    name=f"{community.name}第{k + 1}网格",
                    level=AreaLevel.GRID,
                    parent=community,
                    geometry=square(gx, cy, width / 4, height / 2),
                    population=100,
                )
                sample.grids.append(grid)
    return sample


def make_user(role: Role | str, area: Area | None, **kwargs: Any) -> User:
    user: User = UserFactory.create(role=role, area=area, **kwargs)
    return user
