"""Reveal (permission, scope, audit) and the scoped, blind-indexed search."""

import pytest
from django.core.exceptions import PermissionDenied

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.common.errors import DomainError, NotFound
from civicgrid.people import selectors, services
from civicgrid.people.selectors import PersonFilters
from civicgrid.people.tests.conftest import make_number

pytestmark = pytest.mark.django_db


def test_reveal_returns_plaintext_and_audits_without_it(worker, residents):
    value = services.person_reveal(actor=worker, person=residents[0], field="id_number")
    assert value == make_number(11)
    event = AuditEvent.objects.get(action=AuditAction.REVEAL)
    assert event.changes == {"field": "id_number"}
    assert event.actor_id == worker.pk and event.object_id == str(residents[0].pk)
    assert value not in str(event.changes) + event.message + event.object_repr


def test_reveal_needs_capability(district, user_factory, residents):
    leader = user_factory(Role.LEADER, district.district)
    with pytest.raises(PermissionDenied):
        services.person_reveal(actor=leader, person=residents[0], field="phone")
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


def test_reveal_out_of_scope(other_worker, residents):
    with pytest.raises(PermissionDenied):
        services.person_reveal(actor=other_worker, person=residents[0], field="phone")


def test_reveal_unknown_field(worker, residents):
    with pytest.raises(DomainError):
        services.person_reveal(actor=worker, person=residents[0], field="id_number_cipher")


def test_search_exact_by_id_and_phone_through_blind_index(worker, residents):
    found = selectors.person_search(worker, PersonFilters(id_number=make_number(11).lower()))
    assert [p.name for p in found] == ["张三"]
    assert [p.name for p in selectors.person_search(worker, PersonFilters(phone="139-0013-9000"))] == ["张小四"]
    assert not selectors.person_search(worker, PersonFilters(id_number=make_number(11)[:17])).exists()


def test_search_by_name_tag_area(district, worker, residents):
    assert {p.name for p in selectors.person_search(worker, PersonFilters(name="张"))} == {"张三", "张小四"}
    assert {p.name for p in selectors.person_search(worker, PersonFilters(name="小", name_mode="contains"))} == {
        "张小四"
    }
    assert not selectors.person_search(worker, PersonFilters(name="小")).exists()
    assert [p.name for p in selectors.person_search(worker, PersonFilters(tag="elderly"))] == ["张三"]
    grid1 = district.grids[1].code
    assert [p.name for p in selectors.person_search(worker, PersonFilters(area=grid1))] == ["张小四"]


def test_search_is_scoped(district, worker, other_worker, residents):
    assert {p.name for p in selectors.person_search(worker)} == {"张三", "张小四"}
    assert {p.name for p in selectors.person_search(other_worker)} == {"李五"}
    assert not selectors.person_search(worker, PersonFilters(id_number=make_number(13))).exists()
    with pytest.raises(NotFound):
        selectors.person_get(worker, residents[2].pk)
