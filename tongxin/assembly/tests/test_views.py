"""The pages: lists within a query budget whatever their length, residents see only their places, exports."""

from __future__ import annotations

import pytest

from tongxin.assembly import services
from tongxin.assembly.choices import BodyKind, Electorate, OwnersItem
from tongxin.assembly.tests.conftest import coordinating_matter, later

pytestmark = pytest.mark.django_db


def _many(world, n=6):
    for i in range(n):
        services.raise_matter(world.users["staff_b"], title=f"议题{i}", description="d", place=world.estate_b)


def test_staff_lists_stay_within_a_query_budget(world, owners, django_assert_max_num_queries):
    _many(world)
    body = services.create_body(
        world.users["staff_b"],
        kind=BodyKind.OWNERS_COMMITTEE,
        name="红色业委会",
        community=world.community_b,
        estate=world.estate_b,
    )
    for o in owners[:4]:
        services.add_member(world.users["staff_b"], body, o)
    c = world.client("staff_b")
    for url in ("/assembly/", "/assembly/bodies/", "/assembly/meetings/"):
        with django_assert_max_num_queries(25):
            r = c.get(url)
        assert r.status_code == 200, url
    assert "红色业委会" in c.get("/assembly/bodies/").content.decode()


def test_vote_page_and_exports(world, owners, django_assert_max_num_queries):
    m = coordinating_matter(world, owners_matter=True)
    vote = services.open_vote(
        world.users["staff_b"],
        m,
        title="选举业委会",
        electorate=Electorate.OWNERS,
        owners_item=OwnersItem.COMMITTEE,
        closes_at=later(),
    )
    services.cast(owners[0].user, vote, "agree")
    c = world.client("staff_b")
    with django_assert_max_num_queries(25):
        r = c.get(f"/assembly/votes/{vote.pk}/")
    assert r.status_code == 200 and "第二百七十八条" in r.content.decode()
    x = c.get(f"/assembly/votes/{vote.pk}/result.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    p = c.get(f"/assembly/votes/{vote.pk}/result.pdf")
    assert p.status_code == 200 and p.content.startswith(b"%PDF")
    assert world.client("staff_a").get(f"/assembly/votes/{vote.pk}/").status_code == 404


def test_a_resident_sees_the_matters_of_his_place_only(world, owners, django_assert_max_num_queries):
    _many(world)
    services.raise_matter(world.users["staff_a"], title="锦绣江山的事", description="d", place=world.estate_a)
    from django.test import Client

    c = Client()
    c.force_login(owners[0].user)
    with django_assert_max_num_queries(20):
        page = c.get("/assembly/m/").content.decode()
    assert "议题5" in page and "锦绣江山的事" not in page
    other = c.get("/assembly/").status_code
    assert other == 404  # the staff workbench is not his
