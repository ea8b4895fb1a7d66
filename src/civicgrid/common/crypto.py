"""Field-level authenticated encryption and keyed blind indexes for personal data.

Values are stored as ``<cipher>$<key id>$<base64(nonce || ciphertext || tag)>`` so that
keys can rotate (each value names its key) and the cipher can change (SM4-GCM by
default, as GB/T 39786 asks; AES-GCM as an option). Exact-match search goes through a
keyed HMAC-SM3 blind index, so the plaintext is never needed to find a row.
"""

from __future__ import annotations

import base64
import binascii
import hmac as std_hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
TAG_BYTES = 16
SUPPORTED_CIPHERS = ("SM4-GCM", "AES-GCM")


class DecryptionError(Exception):
    """A stored value could not be authenticated: tampered, or the key is missing."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    active_key_id: str
    cipher: str


def parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, _, encoded = item.partition(":")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured(f"Field key {key_id!r} is not valid base64") from exc
        if len(raw) not in (16, 32):
            raise ImproperlyConfigured(f"Field key {key_id!r} must be 16 bytes (SM4/AES-128) or 32 (AES-256)")
        keys[key_id] = raw
    if not keys:
        raise ImproperlyConfigured("CIVICGRID_FIELD_KEYS names no key")
    return keys


@lru_cache(maxsize=8)
def _key_ring(spec: str, active: str, cipher: str) -> KeyRing:
    keys = parse_keys(spec)
    active_id = active or list(keys)[-1]
    if active_id not in keys:
        raise ImproperlyConfigured(f"Active field key {active_id!r} is not among the configured keys")
    if cipher not in SUPPORTED_CIPHERS:
        raise ImproperlyConfigured(f"Unsupported field cipher {cipher!r}; use one of {SUPPORTED_CIPHERS}")
    if cipher == "SM4-GCM" and len(keys[active_id]) != 16:
        raise ImproperlyConfigured("SM4 needs a 16-byte key")
    return KeyRing(keys=keys, active_key_id=active_id, cipher=cipher)


def key_ring() -> KeyRing:
    return _key_ring(
        settings.FIELD_ENCRYPTION_KEYS, settings.FIELD_ENCRYPTION_ACTIVE_KEY, settings.FIELD_ENCRYPTION_CIPHER
    )


def _seal(cipher: str, key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    if cipher == "AES-GCM":
        return AESGCM(key).encrypt(nonce, plaintext, aad)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag


def _open(cipher: str, key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if cipher == "AES-GCM":
        return AESGCM(key).decrypt(nonce, sealed, aad)
    body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt with the active key. ``context`` (e.g. "people.person.id_number") is bound
    as associated data, so a ciphertext copied into another column fails to decrypt."""
    ring = key_ring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = _seal(ring.cipher, ring.keys[ring.active_key_id], nonce, plaintext.encode(), context.encode())
    payload = base64.b64encode(nonce + sealed).decode()
    return f"{ring.cipher}${ring.active_key_id}${payload}"


def parse_token(token: str) -> tuple[str, str, bytes]:
    try:
        cipher, key_id, payload = token.split("$", 2)
        return cipher, key_id, base64.b64decode(payload)
    except (ValueError, binascii.Error) as exc:
        raise DecryptionError("Malformed encrypted value") from exc


def decrypt(token: str, *, context: str) -> str:
    cipher, key_id, raw = parse_token(token)
    ring = key_ring()
    key = ring.keys.get(key_id)
    if key is None:
        raise DecryptionError(f"Key {key_id!r} is not configured")
    try:
        return _open(cipher, key, raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
    except InvalidTag as exc:
        raise DecryptionError("Encrypted value failed authentication") from exc


def needs_rotation(token: str) -> bool:
    cipher, key_id, _ = parse_token(token)
    ring = key_ring()
    return key_id != ring.active_key_id or cipher != ring.cipher


@lru_cache(maxsize=4)
def _blind_key(encoded: str) -> bytes:
    return base64.b64decode(encoded)


def blind_index(value: str, *, context: str) -> str:
    """Keyed HMAC-SM3 of a normalised value: equal inputs give equal digests, and without
    the key the digest reveals nothing. ``context`` separates columns."""
    mac = crypto_hmac.HMAC(_blind_key(settings.BLIND_INDEX_KEY), hashes.SM3())
    mac.update(context.encode() + b"\x00" + value.strip().upper().encode())
    return mac.finalize().hex()


def constant_time_equals(a: str, b: str) -> bool:
    return std_hmac.compare_digest(a.encode(), b.encode())
