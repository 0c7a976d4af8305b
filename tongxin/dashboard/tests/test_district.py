"""区 and 市 above the subdistrict: the tree, the district admin's scope and the district dashboard over its
subdistricts (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest

from tongxin.cases import services
from tongxin.cases.tests.core_fixtures import new_case
from tongxin.conftest import World, make_user
from tongxin.regions.models import Dwelling, Region, RoleAssignment
from tongxin.regions.scoping import scope_for
from tongxin.regions.services import tree


@pytest.fixture
def city(world: World) -> dict[str, Any]:
    """Given the world's subdistrict moved under 汉阳区 of 武汉市, a second (quiet) subdistrict in 汉阳区, a
    second district 江岸区, and a district admin and a city admin."""
    wuhan = Region.objects.create(kind="city", name="武汉市", code="420100")
    hanyang = Region.objects.create(kind="district", name="汉阳区", code="420105", parent=wuhan)
    jiangan = Region.objects.create(kind="district", name="江岸区", code="420102", parent=wuhan)
    world.subdistrict.parent = hanyang
    world.subdistrict.save()
    quiet = Region.objects.create(kind="subdistrict", name="四新街道", code="420105001", parent=hanyang)
    Region.objects.create(kind="community", name="四新社区", code="001", parent=quiet)
    other = Region.objects.create(kind="subdistrict", name="台北街道", code="420102001", parent=jiangan)
    district_admin = make_user("hanyang_admin")
    RoleAssignment.objects.create(user=district_admin, role="district_admin", region=hanyang)
    city_admin = make_user("wuhan_admin")
    RoleAssignment.objects.create(user=city_admin, role="district_admin", region=wuhan)
    world.users["district"] = district_admin
    world.users["city"] = city_admin
    return {"wuhan": wuhan, "hanyang": hanyang, "jiangan": jiangan, "quiet": quiet, "other": other}


def test_moving_a_subdistrict_under_a_district_keeps_places_and_intake_working(world, city):
    """Given the subdistrict now two levels deeper, when a case is taken in at a dwelling and a building, then
    it carries the subdistrict and community of its place (not the city or district), and the region tree
    starts at the city."""
    world.subdistrict.refresh_from_db()
    assert world.subdistrict.path.startswith(city["hanyang"].path)
    building = world.dwellings["a1"].building
    building.refresh_from_db()
    assert building.place_ids()[:2] == [world.subdistrict.pk, world.community_a.pk]
    case = new_case(world, key="a1", now=None)
    assert (case.subdistrict_id, case.community_id) == (world.subdistrict.pk, world.community_a.pk)
    d = Dwelling(number="601")
    entrance = Region.objects.get(parent=building, kind="entrance")
    d.place_under(entrance)
    assert (d.subdistrict_id, d.community_id, d.estate_id) == (
        world.subdistrict.pk,
        world.community_a.pk,
        world.estate_a.pk,
    )
    # a subdistrict admin's tree shows the way down from the city to their subdistrict, nothing beside it
    roots = tree(world.users["admin"])
    assert [n.region.name for n in roots] == ["武汉市"]
    assert [n.region.name for n in roots[0].children] == ["汉阳区"]
    assert [n.region.name for n in roots[0].children[0].children] == ["干河街道"]
    city_tree = tree(world.users["city"])
    assert [n.region.name for n in city_tree] == ["武汉市"]
    assert {c.region.name for c in city_tree[0].children} == {"汉阳区", "江岸区"}


def test_district_admin_scope_is_the_subdistricts_below(world, city):
    """Given a district admin, then their scope is every subdistrict of the district, not the other district's,
    and reveals nothing."""
    scope = scope_for(world.users["district"])
    assert scope.regions["subdistrict"] == frozenset({world.subdistrict.pk, city["quiet"].pk})
    assert not scope.reveal_id_nodes and not scope.reveal_phone_nodes
    city_scope = scope_for(world.users["city"])
    assert city["other"].pk in city_scope.regions["subdistrict"]


def test_district_dashboard_sums_its_subdistricts(world, city, django_assert_max_num_queries):
    """Given one case taken in, resolved and rated in community A, when the district admin opens the dashboard
    of 汉阳区, then the district's rates count it and the table of subdistricts shows each subdistrict's own
    figures, busiest first; the city's dashboard lists its districts."""
    case = new_case(world, key="a1", now=None)
    services.dispatch(case, world.users["staff_a"], assignee=world.users["grid_1"])
    services.resolve(case, world.users["grid_1"], "已修好")
    services.follow_up_call(case, world.users["staff_a"], "satisfied")
    c = world.client("district")
    with django_assert_max_num_queries(40):
        r = c.get("/dashboard/", {"region": city["hanyang"].pk})
    assert r.status_code == 200
    report = r.context["report"]
    assert report.counters["received"] == 1 and report.rates["resolution"] == 1.0
    rows = [(ch["name"], ch["received"], ch["rates"]["satisfaction"]) for ch in report.children]
    assert rows == [("干河街道", 1, 1.0), ("四新街道", 0, None)]
    body = r.content.decode()
    assert "各街道排名" in body and "四新街道" in body
    # the district admin may open a subdistrict or community of theirs as well
    assert c.get("/dashboard/", {"region": world.community_a.pk}).status_code == 200
    city_report = world.client("city").get("/dashboard/", {"region": city["wuhan"].pk}).context["report"]
    assert [(ch["name"], ch["received"]) for ch in city_report.children] == [("汉阳区", 1), ("江岸区", 0)]
    assert (
        "各区排名" in world.client("city").get("/dashboard/", {"region": city["wuhan"].pk}).content.decode()
    )


def test_district_admin_is_kept_out_of_other_districts_and_the_registry(world, city):
    """Given the district admin of 汉阳区, when they ask for 江岸区 or the city, a resident or a case, then 404:
    the role oversees dashboards, it does not work the registry or the cases. A subdistrict admin cannot open
    the district above them."""
    c = world.client("district")
    assert c.get("/dashboard/", {"region": city["jiangan"].pk}).status_code == 404
    assert c.get("/dashboard/", {"region": city["wuhan"].pk}).status_code == 404
    assert c.get(f"/people/residents/{world.residents['a1'].pk}/").status_code == 404
    case = new_case(world, key="a1", now=None)
    assert c.get(f"/cases/{case.pk}/").status_code == 404
    admin = world.client("admin")
    assert admin.get("/dashboard/", {"region": city["hanyang"].pk}).status_code == 404
    assert admin.get("/dashboard/").context["region"] == world.subdistrict
