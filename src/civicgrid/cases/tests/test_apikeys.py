"""API keys: issued once, stored hashed, revocable, rate-limited, last use stamped."""

from __future__ import annotations

import hashlib
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from civicgrid.cases import apikeys
from civicgrid.cases.models import ApiKey

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_once_and_stores_only_its_digest() -> None:
    output = run("create", "某某App", "--rate", "30")
    plaintext = output.strip().splitlines()[-1]
    assert plaintext.startswith("cg_")
    key = ApiKey.objects.get()
    assert key.name == "某某App" and key.rate_per_minute == 30
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in key.key_hash and key.prefix in plaintext
    listing = run("list")
    assert key.prefix in listing and plaintext not in listing and "有效" in listing
    assert apikeys.apikey_authenticate(plaintext).pk == key.pk


def test_revoke() -> None:
    issued = apikeys.apikey_create(name="x")
    assert "已吊销" in run("revoke", issued.api_key.prefix)
    with pytest.raises(apikeys.InvalidApiKey):
        apikeys.apikey_authenticate(issued.plaintext)
    assert "已吊销" in run("list")
    with pytest.raises(CommandError):
        run("revoke", "nope")


@pytest.mark.parametrize("bad", ["", "cg_x_y", "zz_abcdefghij_secret", "cg_abcdefghij_"])
def test_malformed_keys_are_refused(bad: str) -> None:
    apikeys.apikey_create(name="x")
    with pytest.raises(apikeys.InvalidApiKey):
        apikeys.apikey_authenticate(bad)


def test_a_right_prefix_with_a_wrong_secret_is_refused() -> None:
    issued = apikeys.apikey_create(name="x")
    forged = f"cg_{issued.api_key.prefix}_forged"
    with pytest.raises(apikeys.InvalidApiKey):
        apikeys.apikey_authenticate(forged)


def test_bad_create_arguments() -> None:
    with pytest.raises(CommandError):
        run("create", " ")
    with pytest.raises(CommandError):
        run("create", "x", "--rate", "0")


def test_throttle_counts_per_key_per_minute(time_machine: Any) -> None:
    time_machine.move_to("2025-05-01T10:00:05+08:00", tick=False)
    a = apikeys.apikey_create(name="a", rate_per_minute=2).api_key
    b = apikeys.apikey_create(name="b", rate_per_minute=2).api_key
    apikeys.apikey_throttle(a)
    apikeys.apikey_throttle(a)
    with pytest.raises(apikeys.RateLimited) as info:
        apikeys.apikey_throttle(a)
    assert info.value.status == 429
    apikeys.apikey_throttle(b)  # the other key has its own budget
    time_machine.move_to("2025-05-01T10:01:01+08:00", tick=False)
    apikeys.apikey_throttle(a)  # a new minute


def test_last_used_at_is_stamped_at_most_once_a_minute(time_machine: Any) -> None:
    time_machine.move_to("2025-05-01T10:00:00+08:00", tick=False)
    key = apikeys.apikey_create(name="a", rate_per_minute=100).api_key
    apikeys.apikey_throttle(key)
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    time_machine.move_to("2025-05-01T10:00:30+08:00", tick=False)
    apikeys.apikey_throttle(key)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    time_machine.move_to("2025-05-01T10:01:30+08:00", tick=False)
    apikeys.apikey_throttle(key)
    assert ApiKey.objects.get(pk=key.pk).last_used_at != first


def test_ensure_demo_api_key_returns_a_working_key() -> None:
    apikeys.DEMO_KEY_CACHE.clear()
    plaintext = apikeys.ensure_demo_api_key()
    assert apikeys.apikey_authenticate(plaintext).name == apikeys.DEMO_KEY_NAME
    assert apikeys.ensure_demo_api_key() == plaintext  # same process: same key
    apikeys.DEMO_KEY_CACHE.clear()
    fresh = apikeys.ensure_demo_api_key()  # a new process: the old demo key is revoked
    assert fresh != plaintext
    with pytest.raises(apikeys.InvalidApiKey):
        apikeys.apikey_authenticate(plaintext)
    assert ApiKey.objects.filter(name=apikeys.DEMO_KEY_NAME, revoked_at__isnull=True).count() == 1
