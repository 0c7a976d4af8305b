"""The findings of issue 8 about cases, one regression test each (each failed before cases moved onto the policy):
who may record satisfaction, who sees the receipt code, who may claim, who is shown 转单, and what is in the
department liaison's 我的待办. Plus the free-text and file privacy of issue 10 on the case pages."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tongxin.cases import services
from tongxin.cases.choices import CaseError, CaseState, Channel
from tongxin.cases.models import Case
from tongxin.cases.tests.core_fixtures import new_case
from tongxin.conftest import make_resident, make_user

pytestmark = pytest.mark.django_db
API = "/api/v1/cases/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def shown(client, case):
    r = client.get(f"/cases/{case.pk}/")
    assert r.status_code == 200, r.status_code
    return {a.name for a in r.context["actions"]}


def resolved_by_grid_worker(world):
    case = new_case(world)
    services.dispatch(case.pk, world.users["staff_a"], assignee=world.users["grid_1"])
    services.resolve(case.pk, world.users["grid_1"], "已修好屋顶")
    return Case.objects.get(pk=case.pk)


# --- satisfaction is the resident's ---------------------------------------------------------------------------


def test_the_handler_who_resolved_a_case_cannot_record_its_follow_up_call(world):
    """Given a case the grid worker resolved, when he tries to record the 电话回访 (service, page and API), then
    he is refused and nothing is rated; community staff who did not handle it are shown the button and may."""
    case = resolved_by_grid_worker(world)
    worker, staff = world.users["grid_1"], world.users["staff_a"]
    # the service
    with pytest.raises(CaseError) as refused:
        services.follow_up_call(case.pk, worker, "satisfied")
    assert refused.value.code == "forbidden"
    # the page: no button, and a forged POST changes nothing
    assert "follow-up" not in shown(world.client("grid_1"), case)
    world.client("grid_1").post(f"/cases/{case.pk}/do/follow-up/", {"rating": "satisfied"})
    # the API: 403 with the rule's reason
    r = post(world.client("grid_1"), f"{API}{case.pk}/follow-up", {"rating": "satisfied"})
    assert r.status_code == 403 and "承办人" in r.json()["message"]
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED and not case.rating
    # someone else calls back
    assert "follow-up" in shown(world.client("staff_a"), case)
    services.follow_up_call(case.pk, staff, "satisfied", "回访满意")
    case.refresh_from_db()
    assert (case.rating, case.rating_source) == ("satisfied", "follow_up_call")


def test_staff_who_resolved_a_case_themselves_cannot_call_it_back(world):
    """Given community staff who answered a request on the spot (办结 without dispatching), then the call-back is
    someone else's: the staff member is refused, the subdistrict admin is not."""
    case = new_case(world)
    services.resolve(case.pk, world.users["staff_a"], "当场解答")
    with pytest.raises(CaseError):
        services.follow_up_call(case.pk, world.users["staff_a"], "satisfied")
    services.follow_up_call(case.pk, world.users["admin"], "basically_satisfied")


def test_the_staff_api_never_returns_the_receipt_code_and_staff_cannot_rate_with_it(world):
    """Given a resident's case resolved by the grid worker, when staff read it through the API, then no receipt
    code; the reporter reads it (it is theirs), and staff holding the code still cannot rate."""
    case = services.submit(
        actor=world.users["resident"],
        channel=Channel.RESIDENT_APP,
        category="repairs-leak",
        description="楼顶漏水",
        reporter=world.residents["a1"],
        dwelling=world.dwellings["a1"],
    )
    services.dispatch(case.pk, world.users["staff_a"], assignee=world.users["grid_1"])
    services.resolve(case.pk, world.users["grid_1"], "已修好")
    for role in ("staff_a", "grid_1", "admin"):
        body = world.client(role).get(f"{API}{case.pk}").json()
        assert body["receipt_code"] == "", role
        assert "rate" not in body["actions"], role
    mine = world.client("resident").get(f"{API}{case.pk}").json()
    assert mine["receipt_code"] == case.receipt_code and "rate" in mine["actions"]
    r = post(
        world.client("grid_1"),
        f"{API}{case.pk}/rate",
        {"rating": "satisfied", "receipt_code": case.receipt_code},
    )
    assert r.status_code == 403
    with pytest.raises(CaseError):
        services.confirm_and_rate(case.pk, world.users["grid_1"], "satisfied", receipt_code=case.receipt_code)
    assert not Case.objects.get(pk=case.pk).rating
    r = post(world.client("resident"), f"{API}{case.pk}/rate", {"rating": "satisfied"})
    assert r.status_code == 200 and r.json()["rating"] == "satisfied"


# --- claiming -------------------------------------------------------------------------------------------------


def plain_member(world, username="member_plain", key="a1", post="patrol"):
    """An active party member living in ``key``'s grid, with no role assignment at all."""
    from tongxin.party.models import PartyMember, ServicePost

    user = make_user(username)
    resident = make_resident(world.dwellings[key], username, 81)
    resident.user = user
    resident.save(update_fields=["user"])
    sp, _ = ServicePost.objects.get_or_create(
        community=world.dwellings[key].community, code=post, defaults={"name": post}
    )
    PartyMember.objects.create(resident=resident, member_type="resident", service_post=sp)
    return user


def test_a_party_member_without_a_role_claims_the_same_way_on_the_web_and_the_api(world):
    """Given a party member (no role) of grid 1, a case open for claiming there and one dispatched there, then
    the web shows the open one with 认领 and the API claims it; the dispatched one is 404 on both."""
    member = plain_member(world)
    web = Client()
    web.force_login(member)
    api = Client()
    api.force_login(member)
    open_case = new_case(world, code="public-order", description="夜里有人徘徊")
    services.open_for_claiming(open_case.pk, world.users["staff_a"])
    dispatched = new_case(world, code="public-order", description="楼道堆物")
    services.dispatch(dispatched.pk, world.users["staff_a"], assignee=world.users["grid_1"])
    # the workbench lists what waits for him; the page offers 认领
    r = web.get("/cases/")
    assert r.status_code == 200
    assert [c.pk for c, _cls in r.context["rows"]] == [open_case.pk]
    assert shown(web, open_case) == {"claim"}
    # the dispatched case: not his, on the web and the API alike
    assert web.get(f"/cases/{dispatched.pk}/").status_code == 404
    assert post(api, f"{API}{dispatched.pk}/claim").status_code == 404
    assert Case.objects.get(pk=dispatched.pk).assignee == world.users["grid_1"]
    # the open one is claimed through either door
    r = web.post(f"/cases/{open_case.pk}/do/claim/")
    assert r.status_code == 302
    open_case.refresh_from_db()
    assert open_case.assignee == member and open_case.state == CaseState.DISPATCHED


def test_a_member_whose_post_does_not_match_is_refused_on_both_doors(world):
    """Given a mediation-post member of grid 1 and a patrol case open for claiming, then he sees it but has no
    认领 button, and the API answers 403 with the rule's reason."""
    member = plain_member(world, "mediator", post="mediation")
    case = new_case(world, code="public-order", description="夜里有人徘徊")
    services.open_for_claiming(case.pk, world.users["staff_a"])
    client = Client()
    client.force_login(member)
    assert "claim" not in shown(client, case)
    r = post(client, f"{API}{case.pk}/claim")
    assert r.status_code == 403 and "认领范围" in r.json()["message"]


# --- 转单 -----------------------------------------------------------------------------------------------------


def test_transfer_is_not_shown_to_property_staff_or_members_the_service_refuses(world):
    """Given a case dispatched to the property company, then its staff are not shown 转单 (the service refuses
    them), and a forged POST leaves the case where it was; community staff are shown it."""
    case = new_case(world)
    services.dispatch(case.pk, world.users["staff_a"], property_company=world.property_company)
    names = shown(world.client("property"), case)
    assert "transfer" not in names and {"start", "resolve", "return"} <= names
    world.client("property").post(
        f"/cases/{case.pk}/do/transfer/", {"target": f"user:{world.users['grid_1'].pk}"}
    )
    case.refresh_from_db()
    assert case.property_company == world.property_company and case.assignee is None
    assert "transfer" in shown(world.client("staff_a"), case)
    # a member who claimed a case works it but does not pass it on
    member = plain_member(world)
    other = new_case(world, code="public-order", description="夜里有人徘徊")
    services.open_for_claiming(other.pk, world.users["staff_a"])
    services.claim(other.pk, member)
    client = Client()
    client.force_login(member)
    names = shown(client, other)
    assert "transfer" not in names and "resolve" in names


# --- 吹哨报到 ----------------------------------------------------------------------------------------------------


def test_a_whistled_case_is_in_the_liaisons_default_queue(world):
    """Given a case the subdistrict whistles to 城管, when the liaison opens 我的待办 (the default list) and the
    API queue, then the case is there with 报到 on its page; after the case is resolved it leaves the list."""
    case = new_case(world, code="city-management", description="门口违章搭建")
    services.whistle(case.pk, world.users["admin"], [world.department], note="联合整治")
    liaison = world.client("department")
    r = liaison.get("/cases/")
    rows = {c.pk: c for c, _cls in r.context["rows"]}
    assert case.pk in rows and rows[case.pk].report_by is not None  # with the report-in countdown
    assert case.pk in [x["id"] for x in liaison.get(f"{API}queue").json()["items"]]
    assert "report-in" in shown(liaison, case)
    services.resolve(case.pk, world.users["staff_a"], "已拆除")
    assert case.pk not in [c.pk for c, _cls in liaison.get("/cases/").context["rows"]]


# --- free text and files --------------------------------------------------------------------------------------


def test_staff_pages_and_api_show_numbers_typed_into_free_text_masked(world):
    """Given a description with a phone and an id number written with spaces and dashes, then the staff case
    page and the API show them masked."""
    case = new_case(world, description="请回电139 1234 5678，身份证429004-19800101-0015")
    page = world.client("staff_a").get(f"/cases/{case.pk}/").content.decode()
    body = world.client("staff_a").get(f"{API}{case.pk}").content.decode()
    for text in (page, body):
        assert "139****5678" in text
        for clear in ("139 1234 5678", "1234 5678", "19800101"):
            assert clear not in text


def test_case_photos_are_served_only_to_those_who_see_the_case(world, settings, tmp_path):
    """Given a photo of a community A case, then community A staff get the file, community B staff 404, an
    anonymous visitor is sent to sign in; other files under media (an import) are 404 even to the admin."""
    settings.MEDIA_ROOT = tmp_path
    case = new_case(world)
    photo = services.add_photo(case.pk, world.users["staff_a"], ContentFile(PNG, name="roof.png"))
    url = f"/media/{photo.file.name}"
    r = world.client("staff_a").get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == PNG
    assert world.client("staff_b").get(url).status_code == 404
    assert world.client("property").get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    (tmp_path / "imports").mkdir()
    (tmp_path / "imports" / "residents.xlsx").write_bytes(b"id numbers")
    assert world.client("admin").get("/media/imports/residents.xlsx").status_code == 404
    assert world.client("admin").get("/media/../settings.py").status_code == 404


def test_ratings_keep_their_source_and_the_rate_reads_with_and_without_calls(world):
    """Given one case rated by its reporter (不满意, own account) and one rated by a follow-up call (满意) by
    someone who did not handle it, then each rating says how it was obtained, and the satisfaction rate is 50%
    with the call and 0% on the residents' own word only."""
    import datetime as dt

    from tongxin.cases import rates

    own = services.submit(
        actor=world.users["resident"],
        channel=Channel.RESIDENT_APP,
        category="environment",
        description="垃圾没清运",
        reporter=world.residents["a1"],
        dwelling=world.dwellings["a1"],
    )
    services.resolve(own.pk, world.users["staff_a"], "已清运")
    services.confirm_and_rate(own.pk, world.users["resident"], "dissatisfied", "还是有味道")
    called = resolved_by_grid_worker(world)
    services.follow_up_call(called.pk, world.users["staff_a"], "satisfied")
    assert Case.objects.get(pk=own.pk).rating_source == "online"
    assert Case.objects.get(pk=called.pk).rating_source == "follow_up_call"
    today = dt.date.today()
    result = rates.rates(
        rates.Filters.for_region(
            world.community_a, start=dt.date(2026, 1, 1), end=max(today, dt.date(2026, 12, 31))
        )
    )["rates"]
    assert result["satisfaction"] == 0.5 and result["satisfaction_online"] == 0.0
