"""API keys for the machine intake APIs (Open311 POST and friends).

A key looks like ``cg_<prefix>_<secret>``. Only ``sha256(key)`` is stored; the prefix (10
random characters, public) finds the row, and the digest is compared in constant time.
A key is shown once, when it is created. Each key has a per-minute request budget counted
in the cache (one fixed one-minute window per key)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cases.models import ApiKey
from civicgrid.common.errors import DomainError, NotFound

KEY_PREFIX = "cg"
PREFIX_LENGTH = 10
SECRET_BYTES = 24
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# last_used_at is written at most once per this interval per key (not on every request).
LAST_USED_RESOLUTION = timedelta(seconds=60)
DEMO_KEY_NAME = "演示客户端"
DEMO_KEY_CACHE: dict[str, str] = {}
# Verified keys, by the digest of the whole key, for CASES_APIKEY_CACHE_SECONDS: a machine
# client sends hundreds of requests a second with one key, and its lookup was a quarter of an
# accepted request's CPU. A revocation clears this process's entries at once; other worker
# processes notice within the TTL (decision "API keys: a verified key is remembered briefly").
_VERIFIED: dict[str, tuple[float, ApiKey]] = {}
_VERIFIED_MAX = 1024


class InvalidApiKey(DomainError):
    status = 403
    code = "invalid_api_key"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1]


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str


def _new_plaintext() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(SECRET_BYTES).replace("_", "-")
    return prefix, f"{KEY_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def apikey_create(*, name: str, rate_per_minute: int = 60) -> IssuedKey:
    """Issue a key. The plaintext is returned here and never again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError(_("密钥名称应为1到100个字"), code="invalid")
    if not 1 <= rate_per_minute <= 100_000:
        raise DomainError(_("每分钟请求上限应为1到100000"), code="invalid")
    prefix, plaintext = _new_plaintext()
    while ApiKey.objects.filter(prefix=prefix).exists():  # pragma: no cover - 36^10 space
        prefix, plaintext = _new_plaintext()
    api_key = ApiKey.objects.create(
        name=name, prefix=prefix, key_hash=hash_key(plaintext), rate_per_minute=rate_per_minute
    )
    audit_record(
        action=AuditAction.CREATE,
        obj=api_key,
        area_code="",
        changes={
            "name": {"before": None, "after": name},
            "rate_per_minute": {"before": None, "after": rate_per_minute},
        },
        message=f"apikey create {prefix}",
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


@transaction.atomic
def apikey_revoke(*, prefix: str) -> ApiKey:
    """Revoke a key by its prefix (idempotent)."""
    api_key = ApiKey.objects.select_for_update().filter(prefix=prefix.strip()).first()
    if api_key is None:
        raise NotFound(_("密钥不存在"))
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.UPDATE,
            obj=api_key,
            area_code="",
            changes={"revoked_at": {"before": None, "after": api_key.revoked_at.isoformat()}},
            message=f"apikey revoke {api_key.prefix}",
        )
        # Now (a lookup in the meantime reads the row again) and after the commit (a lookup
        # that read the row before the commit must not keep it).
        forget_verified_keys()
        transaction.on_commit(forget_verified_keys)
    return api_key


def forget_verified_keys() -> None:
    """Drop this process's remembered keys (after a revocation)."""
    _VERIFIED.clear()


def apikey_authenticate(key: str | None) -> ApiKey:
    """The active key matching ``key`` (InvalidApiKey otherwise)."""
    prefix = split_key(key or "")
    if prefix is None:
        raise InvalidApiKey(_("api_key 缺失或无效"))
    digest = hash_key(key or "")
    ttl = float(getattr(settings, "CASES_APIKEY_CACHE_SECONDS", 5))
    remembered = _VERIFIED.get(digest)
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    # The prefix is unique: no ORDER BY (cheaper to build than .first()).
    api_key = next(iter(ApiKey.objects.filter(prefix=prefix).order_by()[:1]), None)
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        raise InvalidApiKey(_("api_key 缺失或无效"))
    if api_key.revoked_at is not None:
        _VERIFIED.pop(digest, None)
        raise InvalidApiKey(_("api_key 已被吊销"))
    if ttl > 0:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[digest] = (time.monotonic() + ttl, api_key)
    return api_key


def apikey_throttle(api_key: ApiKey) -> None:
    """Count one request against the key's budget for the current minute (RateLimited when
    it is spent) and stamp last_used_at (at most once a minute)."""
    now = timezone.now()
    window = int(now.timestamp() // 60)
    cache_key = f"cases:apikey:{api_key.prefix}:{window}"
    # add() is atomic: it creates the counter only if absent; incr() is atomic on locmem/Redis.
    cache.add(cache_key, 0, timeout=120)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=120)
        count = 1
    if count > api_key.rate_per_minute:
        raise RateLimited(
            _("请求过于频繁: 每分钟最多%(n)d次, 请稍后再试") % {"n": api_key.rate_per_minute},
            fields={"retry_after": 60 - int(now.timestamp()) % 60},
        )
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def ensure_demo_api_key() -> str:
    """The demo's Open311 key. Keys are stored hashed, so the demo (re)issues one: an
    existing active demo key is revoked and a fresh one returned (within one process the
    same plaintext is returned again)."""
    cached = DEMO_KEY_CACHE.get("plaintext")
    if cached is not None:
        try:
            apikey_authenticate(cached)
        except InvalidApiKey:
            pass
        else:
            return cached
    for old in ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True):
        apikey_revoke(prefix=old.prefix)
    issued = apikey_create(name=DEMO_KEY_NAME, rate_per_minute=600)
    DEMO_KEY_CACHE["plaintext"] = issued.plaintext
    return issued.plaintext
