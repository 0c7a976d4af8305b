"""Registering on pages, not only in the admin: the owners' roll (业主名册) and self-governing bodies with their
members, found the way staff know a person — by name and address."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tongxin.assembly.choices import BodyKind
from tongxin.assembly.models import Body, BodyMember, Ownership
from tongxin.assembly.tests.conftest import add_flat, add_owner

pytestmark = pytest.mark.django_db

OWNERS = "/assembly/owners/"


def _text(response) -> str:
    return response.content.decode()


def test_staff_registers_an_owner_by_address_and_the_roll_totals_parts_and_area(world):
    """Given a flat of 120 m² in 富丰新城, when community B's staff registers its owner by address on the owners'
    page, then the roll lists the flat with its owner and the totals count one part and its area."""
    add_flat(world, "b1", "601", area="120.00")
    c = world.client("staff_b")
    r = c.post(OWNERS, {"address": "富丰新城12栋2单元601", "owner_name": "陈业主"})
    assert r.status_code == 302
    o = Ownership.objects.get(ended_on__isnull=True, dwelling__number="601")
    assert (o.owner_name, o.area, o.resident_id, o.estate_id) == (
        "陈业主",
        Decimal("120.00"),
        None,
        world.estate_b.pk,
    )
    page = _text(c.get(r["Location"]))
    assert "陈业主" in page and "专有部分 1 个" in page and "120.00" in page


def test_a_transfer_ends_the_previous_owner_and_links_a_resident_owner(world):
    """Given a registered owner, when staff register the resident living there as the new owner, then the old
    record ends (one current owner per part) and the new one is linked to the resident (who can then vote)."""
    add_owner(world, "b1", "602", "旧业主", 201)
    c = world.client("staff_b")
    r = c.post(
        OWNERS,
        {"address": "富丰新城12栋2单元501", "owner_name": "王五", "is_resident": "on", "area": "89.50"},
    )
    assert r.status_code == 302
    r = c.post(OWNERS, {"address": "富丰新城12栋2单元602", "owner_name": "旧业主", "is_resident": "on"})
    assert r.status_code == 302
    assert Ownership.objects.filter(dwelling__number="602").count() == 2
    current = Ownership.objects.get(dwelling__number="602", ended_on__isnull=True)
    assert current.resident is not None and current.resident.name == "旧业主"
    five = Ownership.objects.get(dwelling=world.dwellings["b1"])
    assert five.resident_id == world.residents["b1"].pk


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"address": "富丰新城99栋2单元501", "owner_name": "某人"}, "没有这个楼栋"),
        ({"address": "富丰新城12栋2单元999", "owner_name": "某人"}, "没有找到这套房屋"),
        ({"address": "不存在小区1栋1单元101", "owner_name": "某人"}, "没有您管辖的小区"),
        ({"address": "富丰新城12栋2单元501", "owner_name": ""}, "请填写业主姓名"),
        ({"address": "富丰新城12栋2单元501", "owner_name": "不住这里", "is_resident": "on"}, "没有登记名为"),
        ({"address": "富丰新城12栋2单元501", "owner_name": "某人", "area": "-3"}, "0.01"),
    ],
)
def test_bad_registrations_say_what_is_wrong_and_write_nothing(world, data, message):
    """Given the owners' page, when staff submit a wrong address, no name, a resident who does not live there or
    a negative area, then the page says what is wrong and the roll is unchanged."""
    r = world.client("staff_b").post(OWNERS, data, follow=True)
    assert r.status_code == 200
    assert message in _text(r)
    assert not Ownership.objects.exists()


def test_other_communities_and_other_roles_cannot_register_or_read_the_roll(world):
    """Given an owner in 富丰新城 (community B), when community A's staff, B's grid worker and the property staff
    use the owners' page, then A neither sees B's owner nor can register B's flat, the grid worker reads but may not
    register, and property staff get 404."""
    add_owner(world, "b1", "603", "乙业主", 202)
    staff_a = world.client("staff_a")
    assert "乙业主" not in _text(staff_a.get(OWNERS))
    r = staff_a.post(OWNERS, {"address": "富丰新城12栋2单元501", "owner_name": "冒名"}, follow=True)
    assert "没有您管辖的小区" in _text(r)
    grid = world.client("grid_3")
    assert "乙业主" in _text(grid.get(OWNERS))
    assert 'id="owner-form"' not in _text(grid.get(OWNERS))
    assert grid.post(OWNERS, {"address": "富丰新城12栋2单元501", "owner_name": "网格登记"}).status_code == 404
    assert world.client("property").get(OWNERS).status_code == 404
    assert Ownership.objects.filter(ended_on__isnull=True).count() == 1


def test_the_roll_runs_the_same_queries_however_long(world, django_assert_num_queries):
    """Given 3 and then 12 owners, when staff open the roll, then the page runs the same number of queries."""
    for i in range(3):
        add_owner(world, "b1", f"{700 + i}", f"业主{i}", 300 + i)
    c = world.client("staff_b")
    c.get(OWNERS)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert c.get(OWNERS).status_code == 200
    for i in range(3, 12):
        add_owner(world, "b1", f"{700 + i}", f"业主{i}", 300 + i)
    with django_assert_num_queries(len(few.captured_queries)):
        assert c.get(OWNERS).status_code == 200


def test_staff_register_a_committee_and_add_members_by_name_and_address(world):
    """Given community B's staff, when they register an owners' committee without an estate, then the form says
    it needs one; with the estate it is created, and a member is added by name and address — a wrong name is
    refused with the address it looked at."""
    c = world.client("staff_b")
    data = {"kind": BodyKind.OWNERS_COMMITTEE, "name": "富丰新城业委会", "community": world.community_b.pk}
    r = c.post("/assembly/bodies/new/", data, follow=True)
    assert "业委会应属于一个小区" in _text(r) and not Body.objects.exists()
    r = c.post("/assembly/bodies/new/", {**data, "estate": world.estate_b.pk})
    body = Body.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/assembly/bodies/{body.pk}/"
    url = f"/assembly/bodies/{body.pk}/"
    r = c.post(url, {"name": "查无此人", "address": "富丰新城12栋2单元501", "role": "member"}, follow=True)
    assert "没有登记名为“查无此人”的居民" in _text(r) and not BodyMember.objects.exists()
    r = c.post(url, {"name": "王五", "address": "富丰新城12栋2单元501", "role": "chair"})
    assert r.status_code == 302
    member = BodyMember.objects.get()
    assert (member.resident_id, member.role) == (world.residents["b1"].pk, "chair")
    assert "王五" in _text(c.get(url))


def test_bodies_cannot_be_registered_outside_ones_community(world):
    """Given community A's staff and a grid worker, when they try to register a body in community B, then A's form
    does not offer community B and a forged post is refused; the grid worker has no registration page."""
    c = world.client("staff_a")
    page = _text(c.get("/assembly/bodies/new/"))
    assert world.community_b.name not in page
    data = {"kind": BodyKind.COUNCIL, "name": "越权理事会", "community": world.community_b.pk}
    r = c.post("/assembly/bodies/new/", data)
    assert r.status_code == 200 and "community" in r.context["form"].errors
    assert world.client("grid_3").get("/assembly/bodies/new/").status_code == 404
    assert not Body.objects.exists()
