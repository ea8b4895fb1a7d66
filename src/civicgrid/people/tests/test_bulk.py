import pytest

from civicgrid.audit.models import AuditEvent
from civicgrid.common.protected import reveal
from civicgrid.people.models import Person, PersonTag
from civicgrid.people.services import PersonRow, TagSpec, person_bulk_create
from civicgrid.people.tests.conftest import make_number

pytestmark = pytest.mark.django_db


def test_bulk_create_protects_and_audits_once(district):
    seen: list[int] = []
    rows = [
        PersonRow(
            name=f"居民{i}",
            id_number=make_number(i, male=bool(i % 2)),
            grid=district.grids[i % 4],
            phone=f"1380000{i:04d}",
            tags=("elderly", TagSpec("disabled", "physical", 2)) if i == 3 else (),
        )
        for i in range(10)
    ]
    before = AuditEvent.objects.count()
    assert person_bulk_create(rows=rows, batch_size=4, progress=seen.append) == 10
    assert seen == [4, 8, 10]
    assert AuditEvent.objects.count() == before + 1
    p = Person.objects.get(name="居民3")
    assert p.area_code == district.grids[3].code
    assert p.gender == "male" and p.birth_date.year == 1980
    assert "*" in p.id_number_masked and p.id_number_cipher.startswith("SM4-GCM$")
    assert reveal(p.id_number_cipher, context="people.person.id_number") == make_number(3, male=True)
    assert set(PersonTag.objects.filter(person=p).values_list("kind", flat=True)) == {"elderly", "disabled"}
