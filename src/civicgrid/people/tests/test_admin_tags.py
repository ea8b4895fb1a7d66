"""Tags edited inline in the admin are audited row by row."""

from __future__ import annotations

import pytest

from civicgrid.accounts.enums import Role
from civicgrid.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_inline_tag_added_in_admin_is_audited(client, district, user_factory, residents):
    person = residents[0]
    admin_user = user_factory(Role.SYSTEM_ADMIN, district.district, username="su1", is_superuser=True, is_staff=True)
    client.force_login(admin_user)
    url = f"/admin/people/person/{person.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields if form.initial.get(name) is not None}
    data.update(
        {
            "gender": person.gender,
            "birth_date": person.birth_date.isoformat(),
            "tags-TOTAL_FORMS": "1",
            "tags-INITIAL_FORMS": "0",
            "tags-MIN_NUM_FORMS": "0",
            "tags-MAX_NUM_FORMS": "1000",
            "tags-0-kind": "low_income",
            "tags-0-person": str(person.pk),
        }
    )
    existing = set(person.tags.values_list("kind", flat=True))
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(person.tags.values_list("kind", flat=True)) == existing | {"low_income"}
    event = AuditEvent.objects.filter(object_type="people.persontag", action="create").get()
    assert event.actor_id == admin_user.pk and event.changes
