"""Key rotation: values written under k0 are re-encrypted under k1 and still decrypt."""

import base64

import pytest
from django.core.management import call_command
from django.test import override_settings

from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.common import crypto
from civicgrid.common.protected import reveal
from civicgrid.people.models import Person
from civicgrid.people.rotation import count_pending, rotate_keys
from civicgrid.people.tests.conftest import make_number

pytestmark = pytest.mark.django_db

K0 = "k0:" + base64.b64encode(b"rotation-key-000").decode()
K1 = "k1:" + base64.b64encode(b"rotation-key-111").decode()


def test_rotate_from_k0_to_k1(district):
    from civicgrid.people.services import PersonRow, person_bulk_create

    with override_settings(FIELD_ENCRYPTION_KEYS=K0, FIELD_ENCRYPTION_ACTIVE_KEY="k0"):
        person_bulk_create(
            rows=[
                PersonRow(
                    name=f"r{i}",
                    id_number=make_number(i),
                    grid=district.grids[0],
                    phone=f"1380000{i:04d}",
                    current_address="清泉街社区1号楼",
                )
                for i in range(5)
            ]
        )
        assert Person.objects.filter(id_number_cipher__contains="$k0$").count() == 5
    with override_settings(FIELD_ENCRYPTION_KEYS=f"{K0},{K1}", FIELD_ENCRYPTION_ACTIVE_KEY="k1"):
        assert count_pending() == 5
        seen = []
        result = rotate_keys(batch_size=2, progress=lambda done, total: seen.append(done))
        assert result.rotated_rows == 5 and result.rotated_values == 15
        assert seen == [2, 4, 5]
        assert count_pending() == 0
        for i, p in enumerate(Person.objects.order_by("id")):
            for column in ("id_number_cipher", "phone_cipher", "current_address_cipher"):
                assert crypto.parse_token(getattr(p, column))[1] == "k1"
            assert reveal(p.id_number_cipher, context="people.person.id_number") == make_number(i)
        # Blind indexes do not depend on the field keys: search still works.
        assert Person.objects.filter(id_number_digest=Person.objects.get(name="r0").id_number_digest).count() == 1
        event = AuditEvent.objects.get(action=AuditAction.KEY_ROTATION)
        assert event.changes["rotated_values"] == 15 and event.changes["active_key"] == "k1"
        # Idempotent: nothing left to do.
        assert rotate_keys().rotated_values == 0
    # k0 alone can no longer read the k1 values.
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=K0, FIELD_ENCRYPTION_ACTIVE_KEY="k0"),
        pytest.raises(crypto.DecryptionError),
    ):
        reveal(Person.objects.get(name="r0").id_number_cipher, context="people.person.id_number")


def test_rotate_cipher_change_and_command(district, capsys):
    from civicgrid.people.services import PersonRow, person_bulk_create

    person_bulk_create(rows=[PersonRow(name="a", id_number=make_number(1), grid=district.grids[0])])
    with override_settings(FIELD_ENCRYPTION_CIPHER="AES-GCM"):
        call_command("keys", "rotate", "--batch", "10", "--quiet")
        assert "re-encrypted 1 values" in capsys.readouterr().out
        p = Person.objects.get()
        assert p.id_number_cipher.startswith("AES-GCM$")
        assert reveal(p.id_number_cipher, context="people.person.id_number") == make_number(1)


def test_generate_prints_a_usable_key(capsys):
    call_command("keys", "generate")
    key = capsys.readouterr().out.strip()
    assert len(base64.b64decode(key)) == 16
    with override_settings(FIELD_ENCRYPTION_KEYS=f"n:{key}", FIELD_ENCRYPTION_ACTIVE_KEY="n"):
        assert crypto.decrypt(crypto.encrypt("v", context="c"), context="c") == "v"
