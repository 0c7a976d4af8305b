"""Region tree navigation: each role sees its part of the tree; nodes outside it answer 404."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tongxin.regions.models import Dwelling, Region


def tree_names(response) -> set[str]:
    names: set[str] = set()

    def walk(nodes):
        for n in nodes:
            names.add(n.region.name)
            names.update(g.name for g in n.grids)
            walk(n.children)

    walk(response.context["roots"])
    return names


def test_tree_shows_each_role_its_part(world):
    url = reverse("regions:tree")
    expected = {
        "admin": {
            "干河街道",
            "满庭春社区",
            "大新社区",
            "锦绣江山",
            "富丰新城",
            "第一网格",
            "第二网格",
            "富丰第一网格",
        },
        "staff_a": {"干河街道", "满庭春社区", "锦绣江山", "第一网格", "第二网格"},
        "staff_b": {"干河街道", "大新社区", "富丰新城", "富丰第一网格"},
        # a grid worker sees the way down to their buildings and only their own grid
        "grid_1": {"干河街道", "满庭春社区", "锦绣江山", "第一网格"},
        "grid_3": {"干河街道", "大新社区", "富丰新城", "富丰第一网格"},
        "property": {"干河街道", "满庭春社区", "锦绣江山", "第一网格", "第二网格"},
    }
    for role, names in expected.items():
        response = world.client(role).get(url)
        assert response.status_code == 200
        assert tree_names(response) == names, role
    # roles without the registry get 404, anonymous users the login page
    for role in ("department", "volunteer", "resident"):
        assert world.client(role).get(url).status_code == 404
    assert Client().get(url).status_code == 302


def test_node_lists_only_dwellings_in_scope(world):
    def dwellings_on(role, region):
        response = world.client(role).get(reverse("regions:node", args=[region.pk]))
        if response.status_code != 200:
            return response.status_code
        return {d.pk for d in response.context["page"].object_list}

    a1, a2, b1 = (world.dwellings[k].pk for k in ("a1", "a2", "b1"))
    # a grid worker may open the estate above their building but sees only their grid's dwellings there
    assert dwellings_on("grid_1", world.estate_a) == {a1}
    assert dwellings_on("grid_1", world.community_a) == {a1}
    # the other grid's building and the other community are 404
    building_5 = Region.objects.get(kind="building", number="5")
    assert dwellings_on("grid_1", building_5) == 404
    assert dwellings_on("grid_1", world.community_b) == 404
    assert dwellings_on("grid_1", world.estate_b) == 404
    # community staff see their whole community, the subdistrict admin everything
    assert dwellings_on("staff_a", world.community_a) == {a1, a2}
    assert dwellings_on("staff_a", world.estate_b) == 404
    assert dwellings_on("admin", world.subdistrict) == {a1, a2, b1}
    # the head of household is shown on the node page
    response = world.client("staff_a").get(reverse("regions:node", args=[world.estate_a.pk]))
    assert {d.head_name for d in response.context["page"].object_list} == {"张三", "李四"}
    # children are limited to what the user can reach
    response = world.client("grid_1").get(reverse("regions:node", args=[world.estate_a.pk]))
    assert [c.name for c in response.context["children"]] == ["3栋"]
    # and no registry role at all: 404
    assert (
        world.client("department").get(reverse("regions:node", args=[world.estate_a.pk])).status_code == 404
    )


def test_node_page_query_count_is_constant(world):
    c = world.client("staff_a")
    url = reverse("regions:node", args=[world.estate_a.pk])

    def count(rows):
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(url)
        assert len(response.context["page"].object_list) == rows
        return sum(1 for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE")))

    c.get(url)  # the process's memos warm (scope, places): the counts compare page sizes, not a cold start
    small = count(2)
    entrance = world.dwellings["a2"].entrance
    for n in range(20):
        d = Dwelling(number=f"{700 + n}")
        d.place_under(entrance)
        d.save()
    assert count(22) == small <= 11  # 10 for the page, 1 for the bell (unread count)
