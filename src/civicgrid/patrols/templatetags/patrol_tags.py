"""Small filters for the patrol pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.8123 -> "81%"; None -> "-"."""
    if value is None:
        return "-"
    return f"{value * 100:.0f}%"


@register.filter
def km(metres: float | None) -> str:
    return "-" if metres is None else f"{metres / 1000:.2f}"
