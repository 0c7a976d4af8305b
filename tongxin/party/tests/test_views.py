"""Party pages: organisation tree, member list with filters, co-building units — scoped and masked."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tongxin.conftest import make_resident
from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember, ServicePost
from tongxin.people.pii import set_phone
from tongxin.regions.models import Region

LIAISON_PHONE = "13512345678"


@pytest.fixture
def party(world):
    """Committees of the subdistrict and both communities, grid branches 1 and 3, a building group, two members."""
    sub = Organisation.objects.create(
        kind="subdistrict_committee", name="干河街道党工委", region=world.subdistrict
    )
    ca = Organisation.objects.create(
        kind="community_committee", name="满庭春社区党委", parent=sub, region=world.community_a
    )
    cb = Organisation.objects.create(
        kind="community_committee", name="大新社区党委", parent=sub, region=world.community_b
    )
    b1 = Organisation.objects.create(kind="grid_branch", name="第一网格党支部", parent=ca, grid=world.grid_1)
    b3 = Organisation.objects.create(
        kind="grid_branch", name="富丰第一网格党支部", parent=cb, grid=world.grid_3
    )
    building = Region.objects.get(kind="building", number="3")
    group = Organisation.objects.create(kind="building_group", name="3栋党小组", parent=b1, region=building)
    patrol = ServicePost.objects.create(community=world.community_a, code="patrol", name="治安巡逻")
    mediation = ServicePost.objects.create(community=world.community_b, code="mediation", name="矛盾调解")
    unit = CoBuildingUnit(name="市税务局", kind="adopting", committee_member=True, liaison_name="刘联络")
    set_phone(unit, LIAISON_PHONE, prefix="liaison_phone")
    unit.save()
    unit.communities.add(world.community_a)
    m1 = PartyMember.objects.create(
        resident=world.residents["a1"],
        member_type="dual_registered",
        organisation=group,
        employer=unit,
        service_post=patrol,
    )
    m3 = PartyMember.objects.create(
        resident=world.residents["b1"], member_type="mobile", organisation=b3, service_post=mediation
    )
    return {
        "sub": sub,
        "ca": ca,
        "cb": cb,
        "b1": b1,
        "b3": b3,
        "group": group,
        "patrol": patrol,
        "unit": unit,
        "m1": m1,
        "m3": m3,
    }


def names_on(response) -> set[str]:
    return {m.resident.name for m in response.context["page"].object_list}


def test_member_list_is_scoped_per_role(world, party):
    url = reverse("party:member_list")
    expected = {
        "admin": {"张三", "王五"},
        "staff_a": {"张三"},
        "staff_b": {"王五"},
        "grid_1": {"张三"},
        "grid_3": {"王五"},
    }
    for role, names in expected.items():
        response = world.client(role).get(url)
        assert response.status_code == 200 and names_on(response) == names, role
    for role in ("property", "department", "volunteer", "resident"):
        assert world.client(role).get(url).status_code == 404, role
    assert Client().get(url).status_code == 302


def test_member_filters(world, party):
    c = world.client("admin")
    url = reverse("party:member_list")
    assert names_on(c.get(url, {"member_type": "mobile"})) == {"王五"}
    assert names_on(c.get(url, {"member_type": "dual_registered"})) == {"张三"}
    # an organisation includes the units under it
    assert names_on(c.get(url, {"organisation": party["ca"].pk})) == {"张三"}
    assert names_on(c.get(url, {"organisation": party["sub"].pk})) == {"张三", "王五"}
    assert names_on(c.get(url, {"service_post": party["patrol"].pk})) == {"张三"}
    assert names_on(c.get(url, {"q": "王"})) == {"王五"}
    # a grid worker cannot filter by another community's service post or organisation (not offered)
    g1 = world.client("grid_1")
    assert party["patrol"].pk in dict(g1.get(url).context["form"].fields["service_post"].choices)
    assert names_on(g1.get(url, {"organisation": party["b3"].pk})) == {"张三"}  # unknown choice: ignored
    assert "富丰第一网格党支部" not in g1.get(url).content.decode()


def test_organisation_tree_shows_own_units_under_their_context(world, party):
    def flatten(nodes, out):
        for n in nodes:
            out[n.org.name] = n.visible
            flatten(n.children, out)
        return out

    url = reverse("party:org_tree")
    tree = flatten(world.client("grid_1").get(url).context["roots"], {})
    # a grid worker sees their branch and the group under it; the committees above are context only
    assert tree == {
        "干河街道党工委": False,
        "满庭春社区党委": False,
        "第一网格党支部": True,
        "3栋党小组": True,
    }
    tree = flatten(world.client("staff_b").get(url).context["roots"], {})
    assert tree == {"干河街道党工委": False, "大新社区党委": True, "富丰第一网格党支部": True}
    roots = world.client("admin").get(url).context["roots"]
    tree = flatten(roots, {})
    assert len(tree) == 6 and all(tree.values())
    # member counts include the units below: the subdistrict committee counts both members, each community one
    assert roots[0].total == 2 and [c.total for c in roots[0].children] == [1, 1]
    assert world.client("property").get(url).status_code == 404


def test_co_building_units_show_a_masked_liaison_and_members_in_scope(world, party):
    unit = party["unit"]
    # community staff of the adopted community see the unit, the masked liaison phone and their members
    c = world.client("staff_a")
    response = c.get(reverse("party:co_building_list"))
    html = response.content.decode()
    assert [u.name for u in response.context["units"]] == ["市税务局"]
    assert response.context["units"][0].member_count == 1
    assert "135****5678" in html and LIAISON_PHONE not in html
    detail = c.get(reverse("party:co_building_detail", args=[unit.pk]))
    assert [m.resident.name for m in detail.context["members"]] == ["张三"]
    assert LIAISON_PHONE not in detail.content.decode()
    # the other community's staff do not see it: empty list and 404
    other = world.client("staff_b")
    assert list(other.get(reverse("party:co_building_list")).context["units"]) == []
    assert other.get(reverse("party:co_building_detail", args=[unit.pk])).status_code == 404
    # no party page ever shows a resident's clear phone
    for url in (reverse("party:member_list"), reverse("party:org_tree"), reverse("party:co_building_list")):
        page = world.client("admin").get(url).content.decode()
        assert "13900000001" not in page and "13900000003" not in page


def test_member_list_query_count_is_constant(world, party):
    c = world.client("staff_a")
    url = reverse("party:member_list")

    def count(rows):
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(url)
        assert len(response.context["page"].object_list) == rows
        return sum(1 for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE")))

    c.get(url)  # the process's memos warm (scope, places): the counts compare page sizes, not a cold start
    small = count(1)
    for i in range(30):
        r = make_resident(world.dwellings["a2"], f"党员{i}", 500 + i)
        PartyMember.objects.create(
            resident=r,
            member_type="resident",
            organisation=party["b1"],
            service_post=party["patrol"],
            employer=party["unit"],
        )
    assert count(31) == small <= 10
