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
from base64 import b64encode
from collections.abc import Callable
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


class _Sealer:
    """Encryption state for one (cipher, key): the parsed algorithm object (SM4) or the
    AEAD object (AES-GCM) is built once; only the per-value nonce/mode is fresh."""

    __slots__ = ("_aead", "_algorithm", "prefix")

    def __init__(self, cipher: str, key_id: str, key: bytes) -> None:
        self.prefix = f"{cipher}${key_id}$"
        self._aead = AESGCM(key) if cipher == "AES-GCM" else None
        self._algorithm = algorithms.SM4(key) if cipher == "SM4-GCM" else None

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        if self._aead is not None:
            return self._aead.encrypt(nonce, plaintext, aad)
        assert self._algorithm is not None
        encryptor = Cipher(self._algorithm, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return self.prefix + b64encode(nonce + self.seal(nonce, plaintext.encode(), context.encode())).decode()


@lru_cache(maxsize=8)
def _sealer(spec: str, active: str, cipher: str) -> _Sealer:
    ring = _key_ring(spec, active, cipher)
    return _Sealer(ring.cipher, ring.active_key_id, ring.keys[ring.active_key_id])


def _active_sealer() -> _Sealer:
    # Keyed on the settings strings, so override_settings (tests) and key rotation
    # (a restart with new settings) pick up the new key without any invalidation hook.
    return _sealer(
        settings.FIELD_ENCRYPTION_KEYS, settings.FIELD_ENCRYPTION_ACTIVE_KEY, settings.FIELD_ENCRYPTION_CIPHER
    )


@lru_cache(maxsize=16)
def _opener(cipher: str, key: bytes) -> AESGCM | algorithms.SM4:
    return AESGCM(key) if cipher == "AES-GCM" else algorithms.SM4(key)


def _open(cipher: str, key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    opener = _opener(cipher, key)
    if isinstance(opener, AESGCM):
        return opener.decrypt(nonce, sealed, aad)
    body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(opener, modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt with the active key. ``context`` (e.g. "people.person.id_number") is bound
    as associated data, so a ciphertext copied into another column fails to decrypt."""
    return _active_sealer().encrypt(plaintext, context=context)


def encrypter() -> Callable[..., str]:
    """``encrypt`` bound to the key configured now, for bulk work (imports): the settings
    are read once instead of once per value. Same output format as ``encrypt``."""
    return _active_sealer().encrypt


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


@lru_cache(maxsize=4)
def _blind_mac(encoded: str) -> crypto_hmac.HMAC:
    # A keyed HMAC-SM3 object that is never finalised: each digest works on a .copy(),
    # so the key schedule is computed once per key (the cache is keyed on the setting).
    return crypto_hmac.HMAC(_blind_key(encoded), hashes.SM3())


def blind_index(value: str, *, context: str) -> str:
    """Keyed HMAC-SM3 of a normalised value: equal inputs give equal digests, and without
    the key the digest reveals nothing. ``context`` separates columns."""
    mac = _blind_mac(settings.BLIND_INDEX_KEY).copy()
    mac.update(context.encode() + b"\x00" + value.strip().upper().encode())
    return mac.finalize().hex()


def blind_indexer() -> Callable[..., str]:
    """``blind_index`` bound to the key configured now, for bulk work."""
    base = _blind_mac(settings.BLIND_INDEX_KEY)

    def index(value: str, *, context: str) -> str:
        mac = base.copy()
        mac.update(context.encode() + b"\x00" + value.strip().upper().encode())
        return mac.finalize().hex()

    return index


def constant_time_equals(a: str, b: str) -> bool:
    return std_hmac.compare_digest(a.encode(), b.encode())
