"""Masking of personal data for display. Masked forms are what every page, export and
audit diff shows unless a permitted user reveals a value (and the reveal is audited)."""

from __future__ import annotations

import re


def mask_id_number(value: str) -> str:
    """6 digits + 8 stars + 4: 150104********123X."""
    value = value.strip()
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """3 + 4 stars + 4: 138****5678. Landlines keep their last 4 digits only."""
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        return digits[:3] + "****" + digits[-4:]
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_address(value: str) -> str:
    """Keep the area (up to and including the last 小区/社区/村/街道/路/街/巷 word before
    the first door number), hide the rest:
    兴隆巷街道清泉街社区3号楼2单元501 -> 兴隆巷街道清泉街社区****."""
    value = value.strip()
    if not value:
        return ""
    head = re.split(r"[0-9０-９]", value, maxsplit=1)[0]
    matches = list(re.finditer(r"(小区|社区|村|街道|大街|路|街|巷|镇|乡)", head))
    keep = head[: matches[-1].end()] if matches else value[: max(2, len(value) // 3)]
    return keep + "****"


MASKERS = {"id_number": mask_id_number, "phone": mask_phone, "address": mask_address}
