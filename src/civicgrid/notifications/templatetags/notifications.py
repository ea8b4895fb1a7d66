"""``{% load notifications %}{% follow_button case=case %}`` or ``{% follow_button area_code=code %}``:
the 关注 toggle (template notifications/follow_button.html) with the user's current state."""

from __future__ import annotations

from typing import Any

from django import template

from civicgrid.notifications import selectors

register = template.Library()


@register.inclusion_tag("notifications/follow_button.html", takes_context=True)
def follow_button(context: dict[str, Any], case: Any = None, area_code: str = "") -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if case is not None:
        case_id = int(getattr(case, "pk", case))
        return {
            "follow_kind": "case",
            "follow_target": str(case_id),
            "following": selectors.is_following_case(user, case_id),
            "csrf_token": context.get("csrf_token"),
        }
    return {
        "follow_kind": "area",
        "follow_target": area_code,
        "following": selectors.is_following_area(user, area_code),
        "csrf_token": context.get("csrf_token"),
    }
