"""Template helpers for language-aware text: ``{% load civicgrid_text %}``.

``{{ names|join_list }}`` joins a list with the active language's list separator (、 in Chinese,
", " in English), escaping each item like Django's ``join``; ``{% list_separator %}`` is the
separator itself, for loops that render their own items and for ``data-list-sep`` attributes
read by the JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import SafeString

from civicgrid.common.text import list_separator as _list_separator

register = template.Library()


@register.filter(is_safe=True, needs_autoescape=True)
def join_list(items: Iterable[object] | None, autoescape: bool = True) -> str:
    if not items:
        return ""
    separator = _list_separator()
    if autoescape:
        return format_html_join(separator, "{}", ((item,) for item in items))
    return separator.join(str(item) for item in items)


@register.simple_tag
def list_separator() -> SafeString:
    return conditional_escape(_list_separator())
