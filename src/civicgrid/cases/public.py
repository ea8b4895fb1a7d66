"""What the public may see of a case, defined once for every public reader (the Open311
GET requests and the transparency page /open/):

- a case is public when its category is public and, for a sub-category, its top-level class
  is too (disputes and public-safety classes are not, by default), and it is not hidden;
- free text is scrubbed (``scrub_public_text``): the reporter's name, digits, spelled-out
  numbers, e-mail addresses, links and "surname + 先生/女士" forms of address are masked;
- a location is generalised to the centre of a fixed ``PUBLIC_CELL_M`` lattice cell of its
  root area (``PublicPlaces``); the reported point and the address are never shown."""

from __future__ import annotations

import re

from django.db.models import Q

from civicgrid.territory.lattice import Lattice, reference_latitude
from civicgrid.territory.models import Area

PUBLIC_CELL_M = 200


def public_category_q(prefix: str = "category__") -> Q:
    """A category is public when it is, and (for a sub-category) its top-level class is too."""
    return Q(**{f"{prefix}is_public": True}) & (
        Q(**{f"{prefix}parent__isnull": True}) | Q(**{f"{prefix}parent__is_public": True})
    )


_DIGITS = re.compile(r"[0-9０-９]+")
_CN_NUMERALS = re.compile(r"[零〇一二三四五六七八九幺两]{4,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_HONORIFIC = re.compile(r"[\u4e00-\u9fff](先生|女士|小姐|师傅|大爷|大妈|阿姨|大姐|大哥|老师|老人|奶奶|爷爷)")
MASK = "＊"


def scrub_public_text(text: str, reporter_name: str = "") -> str:
    """Free text (a title, a note) fit for the public: the reporter's name, every digit (phone, ID and room
    numbers, house numbers), long runs of Chinese numerals (a phone read out), e-mail addresses,
    links and "surname + 先生/女士..." forms of address are masked."""
    text = text or ""
    name = (reporter_name or "").strip()
    if len(name) >= 2:
        text = text.replace(name, MASK * len(name))
        if len(name) >= 3:  # the given name alone (after a one- or two-character surname)
            for given in (name[1:], name[2:]):
                if len(given) >= 2:
                    text = text.replace(given, MASK * len(given))
    text = _EMAIL.sub(MASK, text)
    text = _URL.sub(MASK, text)
    text = _DIGITS.sub(MASK, text)
    text = _CN_NUMERALS.sub(MASK, text)
    text = _HONORIFIC.sub(lambda mo: MASK + mo.group(1), text)
    return text


class PublicPlaces:
    """Generalises case locations to the public lattice of their root area (one query for
    the roots per instance: make one per request or document)."""

    def __init__(self) -> None:
        self._lattices: list[tuple[str, Lattice]] = [
            (root.code, Lattice(PUBLIC_CELL_M, reference_latitude(root)))
            for root in Area.objects.filter(parent__isnull=True).only("id", "code")
        ]

    def snap(self, area_code: str, lon: float | None, lat: float | None) -> tuple[float | None, float | None]:
        if lon is None or lat is None:
            return None, None
        for code, lattice in self._lattices:
            if area_code.startswith(code):
                return lattice.snap(lon, lat)
        return None, None  # outside every root: no public location at all
