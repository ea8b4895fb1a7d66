"""person_find_by_id_number: exact, normalised, scoped, one query with the detail's joins."""

import pytest

from civicgrid.people import selectors, services
from civicgrid.people.tests.conftest import make_number

pytestmark = pytest.mark.django_db


def test_finds_the_resident_in_one_query_with_the_detail_joins(worker, residents, django_assert_num_queries):
    with django_assert_num_queries(1):
        person = selectors.person_find_by_id_number(worker, f" {make_number(11).lower()} ")
        assert person is not None
        assert person.pk == residents[0].pk
        assert person.grid.code == residents[0].area_code  # joined: no extra query
        assert person.building is None and person.household is None


def test_outside_scope_absent_or_empty_gives_none(worker, other_worker, residents):
    assert selectors.person_find_by_id_number(worker, make_number(13)) is None  # 李五: other community
    found = selectors.person_find_by_id_number(other_worker, make_number(13))
    assert found is not None and found.name == "李五"
    assert selectors.person_find_by_id_number(worker, make_number(99)) is None
    assert selectors.person_find_by_id_number(worker, "") is None


def test_inactive_residents_only_on_request(worker, residents):
    services.person_deactivate(actor=worker, person=residents[0])
    assert selectors.person_find_by_id_number(worker, make_number(11)) is None
    found = selectors.person_find_by_id_number(worker, make_number(11), include_inactive=True)
    assert found is not None and found.pk == residents[0].pk
