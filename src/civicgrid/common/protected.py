"""Protected personal fields: one call turns a plaintext into what a model stores
(ciphertext, masked form, blind-index digest), and one call turns it back."""

from __future__ import annotations

import re
from dataclasses import dataclass

from civicgrid.common import crypto
from civicgrid.common.masking import MASKERS


@dataclass(frozen=True)
class ProtectedValue:
    cipher: str
    masked: str
    digest: str


def normalize(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "id_number":
        return value.upper().replace(" ", "")
    if kind == "phone":
        return re.sub(r"[\s\-()]", "", value).removeprefix("+86")
    return value


def digest(kind: str, value: str, *, context: str) -> str:
    """The blind index used for exact search; empty for an empty value."""
    value = normalize(kind, value)
    return crypto.blind_index(value, context=f"{context}:{kind}") if value else ""


def protect(kind: str, value: str, *, context: str) -> ProtectedValue:
    """``kind`` is id_number, phone or address; ``context`` names the column (its
    "app.model.field"), bound into the ciphertext as associated data."""
    value = normalize(kind, value or "")
    if not value:
        return ProtectedValue(cipher="", masked="", digest="")
    return ProtectedValue(
        cipher=crypto.encrypt(value, context=context),
        masked=MASKERS[kind](value),
        digest=digest(kind, value, context=context),
    )


def reveal(cipher: str, *, context: str) -> str:
    return crypto.decrypt(cipher, context=context) if cipher else ""
