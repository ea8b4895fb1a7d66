"""Create, update, deactivate, tags: validation, protection, audit with masked diffs."""

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from civicgrid.accounts.enums import Role
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.common.protected import reveal
from civicgrid.people import services
from civicgrid.people.models import Person
from civicgrid.people.tests.conftest import make_number

pytestmark = pytest.mark.django_db


def _data(district, **over):
    data = {
        "name": "王芳",
        "id_number": make_number(21, male=False),
        "phone": "138 0013 8001",
        "grid": district.grids[0].pk,
        "registered_address": "玉泉区兴隆巷街道清泉街社区3号楼2单元501",
        "current_address": "玉泉区兴隆巷街道清泉街社区3号楼2单元501",
        "tags": ["elderly"],
    }
    data.update(over)
    return data


def _all_audit_text():
    return json.dumps(list(AuditEvent.objects.values("changes", "message", "object_repr")), ensure_ascii=False)


def test_create_protects_derives_and_audits_masked(district, worker):
    person = services.person_create(actor=worker, data=_data(district))
    number = make_number(21, male=False)
    person.refresh_from_db()
    assert person.gender == "female"
    assert person.birth_date == dt.date(1980, 5, 17)
    assert person.area_code == district.grids[0].code
    assert person.id_number_masked == number[:6] + "********" + number[-4:]
    assert person.phone_masked == "138****8001"
    assert number not in person.id_number_cipher
    assert reveal(person.phone_cipher, context="people.person.phone") == "13800138001"
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_id=str(person.pk))
    assert event.changes["id_number"] == {"before": None, "after": person.id_number_masked}
    assert event.changes["tags"]["after"] == ["老年人"]
    text = _all_audit_text()
    assert number not in text and "13800138001" not in text and "2单元501" not in text


def test_update_diff_is_masked_and_only_changed(district, worker):
    person = services.person_create(actor=worker, data=_data(district))
    new_number = make_number(24, male=False)
    services.person_update(actor=worker, person=person, data={"id_number": new_number, "name": "王小芳"})
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(person.pk)).get()
    assert set(event.changes) == {"id_number", "name"}
    assert event.changes["name"] == {"before": "王芳", "after": "王小芳"}
    assert event.changes["id_number"]["after"] == new_number[:6] + "********" + new_number[-4:]
    text = _all_audit_text()
    assert new_number not in text and make_number(21, male=False) not in text


def test_wrong_check_digit_is_a_field_error_naming_the_digit(district, worker):
    number = make_number(21, male=False)
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    with pytest.raises(ValidationError) as info:
        services.person_create(actor=worker, data=_data(district, id_number=wrong))
    assert f"应为 {number[17]}" in info.value.message_dict["id_number"][0]
    assert not Person.objects.exists()


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"birth_date": "1981-01-01"}, "birth_date", "身份证号中为 1980-05-17"),
        ({"gender": "male"}, "gender", "身份证号中为 女"),
        ({"phone": "12345"}, "phone", "电话号码格式不正确"),
        ({"name": ""}, "name", "请填写姓名"),
        ({"political_status": "nope"}, "political_status", "政治面貌取值无效"),
        ({"tags": [{"kind": "disabled"}]}, "tags", "残疾类别"),
    ],
)
def test_validation_messages(district, worker, override, field, fragment):
    with pytest.raises(ValidationError) as info:
        services.person_create(actor=worker, data=_data(district, **override))
    assert fragment in " ".join(info.value.message_dict[field])


def test_grid_outside_scope_is_refused(district, worker):
    with pytest.raises(ValidationError) as info:
        services.person_create(actor=worker, data=_data(district, grid=district.grids[2].pk))
    assert "辖区" in info.value.message_dict["grid"][0]


def test_building_must_belong_to_grid(district, worker, homes):
    with pytest.raises(ValidationError) as info:
        services.person_create(actor=worker, data=_data(district, building=homes["building1"].pk))
    assert "楼栋不属于所选网格" in info.value.message_dict["building"][0]
    person = services.person_create(actor=worker, data=_data(district, household=homes["household0"].pk))
    assert person.building_id == homes["building0"].pk  # derived from the household


def test_duplicate_id_number(district, worker):
    services.person_create(actor=worker, data=_data(district))
    with pytest.raises(ValidationError) as info:
        services.person_create(actor=worker, data=_data(district, name="别人"))
    assert "已登记" in info.value.message_dict["id_number"][0]


def test_read_only_role_cannot_create(district, user_factory):
    leader = user_factory(Role.LEADER, district.district)
    with pytest.raises(PermissionDenied):
        services.person_create(actor=leader, data=_data(district))


def test_update_out_of_scope_is_refused(district, other_worker, residents):
    with pytest.raises(PermissionDenied):
        services.person_update(actor=other_worker, person=residents[0], data={"name": "x"})


def test_deactivate_and_tags_are_audited(district, worker, residents):
    person = residents[0]
    services.person_tag_add(
        actor=worker, person=person, kind="disabled", disability_category="physical", disability_level=2
    )
    services.person_tag_remove(actor=worker, person=person, kind="elderly")
    assert list(person.tags.values_list("kind", flat=True)) == ["disabled"]
    services.person_deactivate(actor=worker, person=person, reason="迁出")
    person.refresh_from_db()
    assert not person.is_active
    actions = list(AuditEvent.objects.filter(object_id=str(person.pk)).order_by("id").values_list("action", "changes"))
    assert [a for a, _c in actions] == ["update", "update", "delete"]
    assert actions[0][1]["tags"]["after"] == ["残疾人(肢体残疾二级)", "老年人"]
    with pytest.raises(ValidationError):
        services.person_tag_add(actor=worker, person=person, kind="elderly", disability_level=1)
