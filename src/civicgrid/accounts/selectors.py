"""Reads about accounts."""

from __future__ import annotations

from typing import Any

from civicgrid.territory.models import Area


def area_chain(area: Area | None) -> list[Area]:
    """The node and its ancestors, district first (at most four levels: one query each)."""
    chain: list[Area] = []
    node = area
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


def user_profile(user: Any) -> dict[str, Any]:
    from civicgrid.accounts.permissions import capabilities

    area = user.area
    return {
        "username": user.get_username(),
        "display_name": user.display_name or user.get_username(),
        "role": user.role,
        "role_label": str(user.get_role_display()),
        "area": area,
        "scope_chain": area_chain(area),
        "departments": [d.name for d in user.departments.all()],
        "capabilities": sorted(capabilities(user)),
        "is_demo": user.is_demo,
    }
