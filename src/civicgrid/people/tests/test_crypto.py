"""Field encryption, blind index, masking and ID-number validation."""

import base64
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from civicgrid.common import crypto, idcard, masking
from civicgrid.common.protected import digest, protect, reveal

K0 = "k0:" + base64.b64encode(b"0123456789abcdef").decode()
K1 = "k1:" + base64.b64encode(b"fedcba9876543210").decode()
K32 = "a1:" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.mark.parametrize(("keys", "cipher"), [(K0, "SM4-GCM"), (K0, "AES-GCM"), (K32, "AES-GCM")])
def test_round_trip(keys, cipher):
    with override_settings(FIELD_ENCRYPTION_KEYS=keys, FIELD_ENCRYPTION_ACTIVE_KEY="", FIELD_ENCRYPTION_CIPHER=cipher):
        token = crypto.encrypt("150104198005170011", context="people.person.id_number")
        assert token.startswith(f"{cipher}$")
        assert "150104198005170011" not in token
        assert crypto.decrypt(token, context="people.person.id_number") == "150104198005170011"
        # A fresh nonce each time: equal plaintexts give different ciphertexts.
        assert crypto.encrypt("x", context="c") != crypto.encrypt("x", context="c")


def test_tampered_ciphertext_is_rejected():
    token = crypto.encrypt("13800138000", context="people.person.phone")
    cipher, key_id, payload = token.split("$")
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 0x01
    tampered = f"{cipher}${key_id}${base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered, context="people.person.phone")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("garbage", context="people.person.phone")


def test_context_binding():
    token = crypto.encrypt("13800138000", context="people.person.phone")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, context="people.person.id_number")


def test_unknown_key_is_rejected():
    with override_settings(FIELD_ENCRYPTION_KEYS=K1, FIELD_ENCRYPTION_ACTIVE_KEY=""):
        token = crypto.encrypt("x", context="c")
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=K0, FIELD_ENCRYPTION_ACTIVE_KEY=""),
        pytest.raises(crypto.DecryptionError),
    ):
        crypto.decrypt(token, context="c")


def test_blind_index_is_deterministic_normalised_and_context_separated():
    ctx = "people.person.id_number"
    a = digest("id_number", "15010419800517001x", context=ctx)
    assert a == digest("id_number", " 15010419800517001X ", context=ctx)
    assert len(a) == 64 and "150104" not in a
    assert a != digest("id_number", "15010419800517002X", context=ctx)
    assert a != digest("id_number", "15010419800517001X", context="people.person.phone")
    assert digest("phone", "+86 138-0013-8000", context="p") == digest("phone", "13800138000", context="p")
    assert digest("phone", "", context="p") == ""


def test_protect_and_reveal():
    pv = protect("id_number", "150104198005170011", context="people.person.id_number")
    assert pv.masked == "150104********0011"
    assert reveal(pv.cipher, context="people.person.id_number") == "150104198005170011"
    assert protect("phone", "", context="x").cipher == ""


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (masking.mask_id_number, "15010419800517001X", "150104********001X"),
        (masking.mask_phone, "13800138000", "138****8000"),
        (masking.mask_phone, "0471-6543210", "*******3210"),
        (masking.mask_address, "兴隆巷街道清泉街社区3号楼2单元501", "兴隆巷街道清泉街社区****"),
        (masking.mask_address, "内蒙古呼和浩特市玉泉区清泉小区5号楼", "内蒙古呼和浩特市玉泉区清泉小区****"),
        (masking.mask_address, "", ""),
    ],
)
def test_masking_formats(func, value, expected):
    assert func(value) == expected


@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
    male=st.booleans(),
    region=st.sampled_from(["150104", "110101", "440305"]),
)
@settings(max_examples=200, deadline=None)
def test_generated_id_numbers_validate(birth, seq, male, region):
    number = idcard.make_id_number(region, birth, seq, male)
    assert idcard.validate_id_number(number) == number
    assert idcard.birth_date(number) == birth
    assert idcard.gender(number) == ("male" if male else "female")


@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
    position=st.integers(min_value=0, max_value=17),
    delta=st.integers(min_value=1, max_value=9),
)
@settings(max_examples=300, deadline=None)
def test_any_single_digit_change_fails(birth, seq, position, delta):
    number = idcard.make_id_number("150104", birth, seq, True)
    chars = list(number)
    if chars[position] == "X":
        chars[position] = str(delta)
    else:
        chars[position] = str((int(chars[position]) + delta) % 10)
    with pytest.raises(ValidationError):
        idcard.validate_id_number("".join(chars))


def test_wrong_check_digit_message_names_the_expected_digit():
    number = idcard.make_id_number("150104", dt.date(1980, 5, 17), 1, True)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(ValidationError) as info:
        idcard.validate_id_number(wrong)
    assert info.value.code == "id_check_digit"
    assert f"应为 {number[17]}" in info.value.messages[0]
    assert "校验位" in info.value.messages[0]
