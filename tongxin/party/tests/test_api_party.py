"""The party API: members, the organisation tree and co-building units, per role and within scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.conftest import make_resident
from tongxin.core.models import ApiToken
from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember, ServicePost
from tongxin.people.pii import set_phone
from tongxin.regions.models import Region

ROLES = ("admin", "staff_a", "staff_b", "grid_1", "grid_3")  # the registry roles, who hold the party actions
OTHER_ROLES = (
    "property",
    "department",
    "volunteer",
    "resident",
)  # party membership is none of their business
URLS = ("/api/v1/party/members/", "/api/v1/party/organisations/", "/api/v1/party/co-building-units/")


@dataclass
class Party:
    sub_committee: Organisation
    committee_a: Organisation
    branch_1: Organisation
    group_3: Organisation
    committee_b: Organisation
    patrol: ServicePost
    tax_office: CoBuildingUnit
    hospital: CoBuildingUnit


def build_party(world) -> Party:
    """The party side of the world: a tree down to a building group, members in each community, two units."""
    sub = Organisation.objects.create(
        kind="subdistrict_committee", name="干河街道党工委", region=world.subdistrict
    )
    ca = Organisation.objects.create(
        kind="community_committee", name="满庭春社区党委", parent=sub, region=world.community_a
    )
    branch = Organisation.objects.create(
        kind="grid_branch", name="第一网格党支部", parent=ca, grid=world.grid_1
    )
    group = Organisation.objects.create(
        kind="building_group", name="3栋党小组", parent=branch, region=Region.objects.get(name="3栋")
    )
    cb = Organisation.objects.create(
        kind="community_committee", name="大新社区党委", parent=sub, region=world.community_b
    )
    patrol = ServicePost.objects.create(community=world.community_a, code="patrol", name="治安巡逻")
    tax = CoBuildingUnit(name="市税务局", kind="adopting", committee_member=True, liaison_name="刘联络")
    set_phone(tax, "13655556666", prefix="liaison_phone")
    tax.save()
    tax.communities.add(world.community_a)
    hospital = CoBuildingUnit.objects.create(name="区人民医院", kind="partner")
    hospital.communities.add(world.community_b)
    r = world.residents
    PartyMember.objects.create(
        resident=r["a1"], member_type="dual_registered", organisation=group, employer=tax, service_post=patrol
    )
    secretary = PartyMember.objects.create(resident=r["a2"], member_type="resident", organisation=ca)
    PartyMember.objects.create(resident=r["b1"], member_type="mobile", organisation=cb, employer=hospital)
    ca.secretary = secretary
    ca.save()
    return Party(sub, ca, branch, group, cb, patrol, tax, hospital)


def api(user) -> Client:
    _token, key = ApiToken.issue(user, "test")
    return Client(headers={"authorization": f"Bearer {key}"})


def member_names(client: Client, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/party/members/{query}")
    assert response.status_code == 200, response.content
    return sorted(m["resident"]["name"] for m in response.json()["items"])


def tree(node: dict) -> tuple:
    return (node["name"], [tree(child) for child in node["children"]])


def test_each_role_lists_the_members_living_in_its_scope(world):
    build_party(world)
    seen = {role: member_names(api(world.users[role])) for role in ROLES}
    assert seen["admin"] == sorted(["张三", "李四", "王五"])
    assert seen["staff_a"] == sorted(["张三", "李四"])
    assert seen["staff_b"] == ["王五"]
    assert seen["grid_1"] == ["张三"]
    assert seen["grid_3"] == ["王五"]


def test_roles_without_the_party_actions_get_404_everywhere(world):
    # given the party side of the world (property staff serve estate A, where two members live)
    build_party(world)
    # when the other roles ask for any party list, then they are told nothing exists, in the one error body
    for role in OTHER_ROLES:
        for url in URLS:
            response = api(world.users[role]).get(url)
            assert response.status_code == 404 and response.json()["code"] == "not_found", (role, url)
            assert "张三" not in response.content.decode()


def test_member_filters(world):
    party = build_party(world)
    admin = api(world.users["admin"])
    # by member type, service post, and organisation (the unit and those under it)
    assert member_names(admin, "?member_type=dual_registered") == ["张三"]
    assert member_names(admin, f"?service_post={party.patrol.pk}") == ["张三"]
    assert member_names(admin, f"?organisation={party.committee_a.pk}") == sorted(["张三", "李四"])
    assert member_names(admin, f"?organisation={party.branch_1.pk}") == ["张三"]
    assert member_names(admin, "?organisation=999999") == []
    assert member_names(admin, "?q=王") == ["王五"]
    # and the member carries organisation, post and employer
    item = admin.get("/api/v1/party/members/?member_type=dual_registered").json()["items"][0]
    assert item["organisation"]["name"] == "3栋党小组" and item["service_post"]["name"] == "治安巡逻"
    assert item["employer"]["name"] == "市税务局" and item["grid_id"] == world.grid_1.pk
    # a bad member type is a 422 naming the parameter
    bad = admin.get("/api/v1/party/members/?member_type=celebrity")
    assert bad.status_code == 422 and bad.json()["field"] == "member_type"


def test_organisation_tree_shows_what_each_role_may_see(world):
    build_party(world)

    def roots(role: str) -> list[tuple]:
        response = api(world.users[role]).get("/api/v1/party/organisations/")
        assert response.status_code == 200
        return [tree(node) for node in response.json()["roots"]]

    # the subdistrict admin sees the whole tree
    assert roots("admin") == [
        (
            "干河街道党工委",
            [("满庭春社区党委", [("第一网格党支部", [("3栋党小组", [])])]), ("大新社区党委", [])],
        )
    ]
    # community staff their community's part, a grid worker their branch and the groups under it
    assert roots("staff_a") == [("满庭春社区党委", [("第一网格党支部", [("3栋党小组", [])])])]
    assert roots("staff_b") == [("大新社区党委", [])]
    assert roots("grid_1") == [("第一网格党支部", [("3栋党小组", [])])]
    # and each node names its secretary and counts its own members
    committee = api(world.users["staff_a"]).get("/api/v1/party/organisations/").json()["roots"][0]
    assert committee["secretary"]["name"] == "李四" and committee["member_count"] == 1
    assert committee["region"]["name"] == "满庭春社区"
    assert committee["children"][0]["children"][0]["member_count"] == 1


def test_co_building_units_of_my_communities(world):
    build_party(world)

    def units(role: str) -> dict[str, list[str]]:
        response = api(world.users[role]).get("/api/v1/party/co-building-units/")
        assert response.status_code == 200
        return {u["name"]: sorted(m["name"] for m in u["members"]) for u in response.json()["items"]}

    # each role sees the units of the communities it works in, with the members it may see
    assert units("admin") == {"市税务局": ["张三"], "区人民医院": ["王五"]}
    assert units("staff_a") == {"市税务局": ["张三"]}
    assert units("grid_1") == {"市税务局": ["张三"]}
    assert units("grid_3") == {"区人民医院": ["王五"]}
    # and the liaison's phone is masked
    response = api(world.users["staff_a"]).get("/api/v1/party/co-building-units/?committee_member=true")
    unit = response.json()["items"][0]
    assert unit["liaison_name"] == "刘联络" and unit["liaison_phone_masked"] == "136****6666"
    assert unit["communities"] == [{"id": world.community_a.pk, "name": "满庭春社区"}]
    assert "13655556666" not in response.content.decode()


def test_party_lists_run_constant_queries_whatever_the_page_size(world):
    # given 20 more members and units
    party = build_party(world)
    for i in range(20):
        resident = make_resident(world.dwellings["a1"], f"党员{i}", 200 + i)
        unit = CoBuildingUnit.objects.create(name=f"共建单位{i}")
        unit.communities.add(world.community_a)
        PartyMember.objects.create(
            resident=resident,
            member_type="dual_registered",
            organisation=party.group_3,
            employer=unit,
            service_post=party.patrol,
        )
    client = api(world.users["staff_a"])
    client.get("/api/v1/me")  # the token's first use writes last_used_at; keep that out of the counts
    for url in ("/api/v1/party/members/", "/api/v1/party/co-building-units/"):
        counts = []
        for size in (1, 200):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url, {"page_size": size})
            assert len(response.json()["items"]) == min(size, response.json()["count"])
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1] <= 10, (url, counts)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/party/organisations/").json()["count"] == 3
    assert len(ctx.captured_queries) <= 10
