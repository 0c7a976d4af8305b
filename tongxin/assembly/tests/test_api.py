"""The assembly API: lists in the one envelope within a query budget, one error body, a resident's support and
ballot, a paper ballot refused with 409 when the owner voted online."""

from __future__ import annotations

import pytest

from tongxin.assembly import services
from tongxin.assembly.choices import Electorate, OwnersItem
from tongxin.assembly.tests.conftest import coordinating_matter, later
from tongxin.conftest import World

pytestmark = pytest.mark.django_db


def _client(world: World, user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_matter_list_is_paged_and_scoped(world, owners, django_assert_max_num_queries):
    for i in range(5):
        services.raise_matter(world.users["staff_b"], title=f"议题{i}", description="d", place=world.estate_b)
    c = world.client("staff_b")
    with django_assert_max_num_queries(12):
        body = c.get("/api/v1/assembly/matters?page_size=3").json()
    assert body["count"] == 5 and len(body["items"]) == 3
    assert world.client("staff_a").get("/api/v1/assembly/matters").json()["count"] == 0
    r = world.client("staff_a").get(f"/api/v1/assembly/matters/{body['items'][0]['id']}")
    assert r.status_code == 404 and set(r.json()) == {"code", "message", "field", "errors"}


def test_a_resident_supports_and_votes_through_the_api(world, owners):
    staff = world.users["staff_b"]
    m = services.raise_matter(staff, title="人工湖清洗", description="d", place=world.estate_b)
    c = _client(world, owners[0].user)
    r = c.post(f"/api/v1/assembly/matters/{m.pk}/support")
    assert r.status_code == 200 and r.json()["supports"] == 1
    assert c.get("/api/v1/assembly/matters/mine").json()["count"] == 1
    assert c.get(f"/api/v1/assembly/matters/{m.pk}").status_code == 404  # the staff view is not his
    m2 = coordinating_matter(world, owners_matter=True)
    vote = services.open_vote(
        staff, m2, title="t", electorate=Electorate.OWNERS, owners_item=OwnersItem.USE_FUND, closes_at=later()
    )
    r = c.post(
        f"/api/v1/assembly/votes/{vote.pk}/ballot", {"choice": "agree"}, content_type="application/json"
    )
    assert r.status_code == 200 and len(r.json()["units"]) == 1
    r = c.post(
        f"/api/v1/assembly/votes/{vote.pk}/ballot", {"choice": "maybe"}, content_type="application/json"
    )
    assert r.status_code == 422 and r.json()["field"] == "choice"
    elector = vote.electors.get(resident=owners[0])
    clerk = world.client("grid_3")
    r = clerk.post(
        f"/api/v1/assembly/votes/{vote.pk}/paper",
        {"elector_id": elector.pk, "choice": "against"},
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["code"] == "already_voted"
    assert elector.paper_entries.count() == 1  # kept for review
    sheet = world.client("staff_b").get(f"/api/v1/assembly/votes/{vote.pk}/result").json()
    assert sheet["ballots"] == 1 and sheet["heads"]["agree"] == "1"
    outsider = _client(world, world.users["resident"])
    assert (
        outsider.post(
            f"/api/v1/assembly/votes/{vote.pk}/ballot", {"choice": "agree"}, content_type="application/json"
        ).status_code
        == 404
    )
