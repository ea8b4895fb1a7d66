"""Language-aware text helpers shared by every app.

A list of names is joined with the enumeration comma 、 in Chinese and with ", " in English.
The separator is a translatable string (context "list separator"), so Python, the templates
(``{% load civicgrid_text %}``: ``items|join_list``, ``{% list_separator %}``) and the JavaScript
(a ``data-list-sep`` attribute rendered by the template) all use the active language's separator.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import pgettext


def list_separator() -> str:
    """The separator between the items of a list in the active language (、 / ", ")."""
    return pgettext("list separator", "、")


def join_list(items: Iterable[object]) -> str:
    """``items`` as text joined with the active language's list separator."""
    return list_separator().join(str(item) for item in items)
