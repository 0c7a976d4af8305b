"""Registry services: create, edit, tags, moving in and out, head of household, reveal — happy and unhappy paths."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tongxin.core import pii
from tongxin.core.models import AuditLog
from tongxin.people import services
from tongxin.people.models import Household, Membership, Resident

VALID_ID = pii.generate_id_number("429004", dt.date(1985, 6, 15), 42, female=True)


def bad_checksum(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def audit_text() -> str:
    return json.dumps(list(AuditLog.objects.values("before", "after", "object_repr")), ensure_ascii=False)


def test_create_resident_starts_a_household_and_audits_masked_values(world):
    # given community staff of community A and an empty dwelling in it
    staff = world.users["staff_a"]
    Household.objects.filter(dwelling=world.dwellings["a1"]).update(ended_on=dt.date(2020, 1, 1))
    # when they register a resident there
    r = services.create_resident(
        staff, name="赵六", dwelling=world.dwellings["a1"], id_number=VALID_ID, phone="13812345678"
    )
    # then the person is stored encrypted, masked and derived from the id number
    assert (
        r.id_number_masked == pii.mask(VALID_ID) and r.gender == "F" and r.birth_date == dt.date(1985, 6, 15)
    )
    assert pii.decrypt(r.id_number_enc) == VALID_ID and r.phone_masked == "138****5678"
    # and heads a new household in that dwelling, with a membership row
    assert r.household is not None and r.household.head_id == r.pk and r.relation == "head"
    assert Membership.objects.filter(resident=r, household=r.household, moved_out_on__isnull=True).exists()
    # and the audit trail has the creation by that user, with masked values only
    created = AuditLog.objects.get(action="create", object_id=str(r.pk))
    assert created.actor == staff and created.after["id_number"] == pii.mask(VALID_ID)
    assert VALID_ID not in audit_text() and "13812345678" not in audit_text()


def test_create_resident_joins_the_current_household(world):
    # given a dwelling whose household is headed by 张三
    head = world.residents["a1"]
    # when a spouse is registered there
    r = services.create_resident(
        world.users["grid_1"],
        name="张妻",
        dwelling=world.dwellings["a1"],
        id_number=VALID_ID,
        relation="spouse",
    )
    # then she joins 张三's household as spouse
    assert r.household_id == head.household_id and r.relation == "spouse"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("id_number", {"id_number": bad_checksum(VALID_ID)}),
        ("id_number", {"id_number": "12345"}),
        ("id_number", {"id_number": "991234" + VALID_ID[6:]}),
        ("phone", {"phone": "12345"}),
        ("name", {"name": "  "}),
        ("residence_status", {"residence_status": "alien"}),
        ("relation", {"relation": "head"}),  # joining an existing household as a second head
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(world, field, kwargs):
    # given community staff
    before = (Resident.objects.count(), AuditLog.objects.count(), Membership.objects.count())
    args = {"name": "赵六", "dwelling": world.dwellings["a1"], "id_number": VALID_ID, **kwargs}
    # when they submit a bad value
    with pytest.raises(ValidationError) as exc:
        services.create_resident(world.users["staff_a"], **args)
    # then the error names the field and nothing was written
    assert field in exc.value.message_dict
    assert (Resident.objects.count(), AuditLog.objects.count(), Membership.objects.count()) == before


def test_duplicate_id_number_is_refused(world):
    # given 张三 is registered with an id number
    existing = pii.decrypt(world.residents["a1"].id_number_enc)
    # when someone registers another person with the same number (lower-case x or spaces do not help)
    with pytest.raises(ValidationError) as exc:
        services.create_resident(
            world.users["staff_a"], name="重复", dwelling=world.dwellings["a2"], id_number=existing
        )
    # then the error is on the id number, and names no one
    assert "id_number" in exc.value.message_dict
    assert "张三" not in str(exc.value)
    assert Resident.objects.filter(name="重复").count() == 0
    # and editing someone else to that number fails the same way
    with pytest.raises(ValidationError) as exc:
        services.update_resident(
            world.users["staff_a"],
            world.residents["a2"],
            name="李四",
            id_kind="id_card",
            id_number=existing,
            residence_status="registered",
        )
    assert "id_number" in exc.value.message_dict


def test_moving_into_a_dwelling_out_of_scope_is_refused(world):
    # given a grid worker of grid 1 and a dwelling of grid 3 (other community)
    grid_1 = world.users["grid_1"]
    resident = world.residents["a1"]
    # when they try to move their resident there, or register someone there
    with pytest.raises(ValidationError) as exc:
        services.move_in(grid_1, resident, world.dwellings["b1"], relation="head", start_household=True)
    assert "dwelling" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_resident(grid_1, name="外人", dwelling=world.dwellings["a2"], id_number=VALID_ID)
    assert "dwelling" in exc.value.message_dict
    # then nothing moved
    resident.refresh_from_db()
    assert resident.dwelling_id == world.dwellings["a1"].pk
    assert Membership.objects.filter(resident=resident).count() == 1


@pytest.mark.parametrize("role", ["property", "department", "volunteer", "resident", "grid_3", "staff_b"])
def test_roles_that_may_not_write_cannot_change_a_resident(world, role):
    # given a resident of grid 1 and a user who may not change them
    resident = world.residents["a1"]
    # when they try to edit the resident
    with pytest.raises(PermissionDenied):
        services.update_resident(
            world.users[role], resident, name="改名", id_kind="id_card", residence_status="registered"
        )
    # then the name is unchanged
    resident.refresh_from_db()
    assert resident.name == "张三"


def test_move_in_and_out_keep_the_history(world):
    # given 李四 heading a household in a2, moved by community staff into 张三's household in a1
    staff = world.users["staff_a"]
    li = world.residents["a2"]
    old_household = li.household
    day = dt.date.today() + dt.timedelta(days=1)
    services.move_in(staff, li, world.dwellings["a1"], relation="sibling", on=day)
    # then the old stay is closed and the old household ended (nobody left), and a new stay is open
    stays = list(Membership.objects.filter(resident=li).order_by("moved_in_on", "pk"))
    assert [s.moved_out_on for s in stays] == [day, None]
    old_household.refresh_from_db()
    assert old_household.ended_on == day and old_household.head_id is None
    li.refresh_from_db()
    assert li.dwelling_id == world.dwellings["a1"].pk and li.relation == "sibling"
    assert li.household_id == world.residents["a1"].household_id
    # when 李四 moves out
    services.move_out(staff, li, on=day + dt.timedelta(days=20))
    # then the person and every stay are still there
    li.refresh_from_db()
    assert li.status == "moved_out" and li.household_id is None
    assert Membership.objects.filter(resident=li).count() == 2
    assert Membership.objects.get(resident=li, moved_in_on=day).moved_out_on == day + dt.timedelta(days=20)
    # and moving out twice is refused with the field named
    with pytest.raises(ValidationError) as exc:
        services.move_out(staff, li)
    assert "status" in exc.value.message_dict
    # and each step was audited
    assert AuditLog.objects.filter(object_id=str(li.pk), action="update").count() >= 2


def test_change_head_of_household(world):
    # given 张三's household with a spouse
    staff = world.users["staff_a"]
    zhang = world.residents["a1"]
    spouse = services.create_resident(
        staff, name="张妻", dwelling=world.dwellings["a1"], id_number=VALID_ID, relation="spouse"
    )
    household = zhang.household
    # when the spouse becomes head
    services.change_head(staff, household, spouse, old_head_relation="spouse")
    # then the household, the people and the current stays say so
    household.refresh_from_db()
    zhang.refresh_from_db()
    spouse.refresh_from_db()
    assert household.head_id == spouse.pk and spouse.relation == "head" and zhang.relation == "spouse"
    assert Membership.objects.get(resident=spouse, moved_out_on__isnull=True).relation == "head"
    assert AuditLog.objects.filter(object_type="people.household", field="head").count() == 1
    # and someone who is not a member cannot become head
    with pytest.raises(ValidationError) as exc:
        services.change_head(staff, household, world.residents["a2"])
    assert "new_head" in exc.value.message_dict
    # and a grid worker of another community cannot touch the household at all
    with pytest.raises(PermissionDenied):
        services.change_head(world.users["grid_3"], household, zhang)


def test_tags_are_set_and_audited(world):
    # given community staff and 张三
    staff = world.users["staff_a"]
    zhang = world.residents["a1"]
    # when they tag him
    services.set_tags(staff, zhang, ["elderly_alone", "watched"])
    # then the tags are set and audited
    assert sorted(zhang.tags.values_list("code", flat=True)) == ["elderly_alone", "watched"]
    log = AuditLog.objects.get(field="tags")
    assert log.after == {"tags": ["elderly_alone", "watched"]}
    # and an unknown tag is refused by field
    with pytest.raises(ValidationError) as exc:
        services.set_tags(staff, zhang, ["no_such_tag"])
    assert "tags" in exc.value.message_dict


def test_update_resident_audits_masked_before_and_after(world):
    # given 张三 with phone 13900000001
    zhang = world.residents["a1"]
    # when community staff change his phone
    services.update_resident(
        world.users["staff_a"],
        zhang,
        name="张三",
        id_kind="id_card",
        phone="13712345678",
        residence_status="migrant",
    )
    # then the audit holds masked before/after and only the changed fields
    log = AuditLog.objects.get(action="update", object_id=str(zhang.pk))
    assert log.before == {"phone": "139****0001", "residence_status": "registered"}
    assert log.after == {"phone": "137****5678", "residence_status": "migrant"}
    assert "13712345678" not in audit_text() and "13900000001" not in audit_text()


REVEAL_CASES = [
    ("admin", "b1", "id_number", True),
    ("staff_a", "a2", "id_number", True),
    ("staff_a", "b1", "id_number", False),
    ("grid_1", "a1", "phone", True),
    ("grid_1", "a1", "id_number", False),
    ("grid_1", "a2", "phone", False),
    ("property", "a1", "phone", False),
    ("department", "a1", "phone", False),
    ("volunteer", "a1", "phone", False),
    ("resident", "a1", "id_number", False),
]


def test_reveal_only_for_authorised_roles_and_always_audited(world):
    for role, key, what, allowed in REVEAL_CASES:
        # given a resident and a user of some role
        resident = world.residents[key]
        clear = pii.decrypt(resident.id_number_enc if what == "id_number" else resident.phone_enc)
        user = world.users[role]
        reveals = AuditLog.objects.filter(action="reveal")
        count = reveals.count()
        if allowed:
            # when an authorised user reveals, then they get the one clear value and an audit record
            assert services.reveal(user, resident, what) == clear
            log = reveals.order_by("-pk").first()
            assert (log.actor, log.object_id, log.field) == (user, str(resident.pk), what)
            assert reveals.count() == count + 1
        else:
            # when anyone else tries, then it is refused and nothing is recorded as revealed
            with pytest.raises(PermissionDenied):
                services.reveal(user, resident, what)
            assert reveals.count() == count, (role, key, what)
    assert all(pii.decrypt(r.id_number_enc) not in audit_text() for r in world.residents.values())


def test_reveal_of_an_unknown_field_is_a_validation_error(world):
    with pytest.raises(ValidationError):
        services.reveal(world.users["admin"], world.residents["a1"], "name")
