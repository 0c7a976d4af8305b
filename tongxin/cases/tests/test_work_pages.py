"""The case work pages: 改类 on the web, the 吹哨报到 panel with the department's 报到说明, the street's rating form."""

from __future__ import annotations

import pytest

from tongxin.cases import services
from tongxin.cases.choices import CaseState, EventType
from tongxin.cases.models import Case, WhistleCall
from tongxin.cases.tests.core_fixtures import new_case


@pytest.mark.django_db
def test_staff_recategorise_a_repair_on_the_web(world, django_assert_max_num_queries):
    # given a 房屋报修 in 满庭春 and its community staff on the case page
    case = new_case(world, code="repairs")
    client = world.client("staff_a")
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f'href="/cases/{case.pk}/reclassify/"' in page
    # when they open 改类: every category with the deadline it would give, the current one disabled
    with django_assert_max_num_queries(20):
        form = client.get(f"/cases/{case.pk}/reclassify/")
    html = form.content.decode()
    assert form.status_code == 200 and "大修" in html and "1715 复杂问题" in html
    # and choose 大修 with a reason
    r = client.post(f"/cases/{case.pk}/reclassify/", {"category": "repairs-large", "reason": "外墙脱落"})
    # then the case page shows the new category and its 15-day clock
    assert r.status_code == 302 and r["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.category.service_code == "repairs-large"
    assert (case.resolve_by - case.events.filter(type=EventType.RECLASSIFIED).last().at).days == 15


@pytest.mark.django_db
def test_recategorise_errors_are_shown_and_change_nothing(world):
    case = new_case(world, code="repairs")
    r = world.client("staff_a").post(f"/cases/{case.pk}/reclassify/", {"category": "repairs"})
    assert r.status_code == 400 and "新类别与原类别相同" in r.content.decode()
    assert not case.events.filter(type=EventType.RECLASSIFIED).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff_b", "grid_3", "property", "department", "resident"])
def test_recategorise_is_404_to_those_who_may_not(world, who):
    case = new_case(world, code="repairs")
    assert world.client(who).get(f"/cases/{case.pk}/reclassify/").status_code == 404
    assert (
        world.client(who).post(f"/cases/{case.pk}/reclassify/", {"category": "repairs-large"}).status_code
        == 404
    )
    assert Case.objects.get(pk=case.pk).category.service_code == "repairs"


@pytest.mark.django_db
def test_a_closed_case_cannot_be_recategorised_on_the_web(world):
    case = new_case(world, code="repairs")
    services.reject(case, world.users["staff_a"], "重复")
    client = world.client("staff_a")
    assert client.get(f"/cases/{case.pk}/reclassify/").status_code == 403
    assert "reclassify-link" not in client.get(f"/cases/{case.pk}/").content.decode()


@pytest.mark.django_db
def test_department_panel_shows_the_report_in_note_and_the_street_rates_on_the_web(world):
    # given 城管 whistled and reported in with a note
    case = new_case(world, code="city-management", description="井盖缺失")
    [call] = services.whistle(case, world.users["admin"], [world.department])
    services.report_in(call, world.users["department"], note="执法队2人已出发，15分钟到")
    # then the case page shows the note to the community and to the department, and the API gives it too
    detail = world.client("staff_a").get(f"/api/v1/cases/{case.pk}").json()
    assert detail["whistle_calls"][0]["report_note"] == "执法队2人已出发，15分钟到"
    for who in ("staff_a", "department", "admin"):
        html = world.client(who).get(f"/cases/{case.pk}/").content.decode()
        assert "报到说明" in html and "执法队2人已出发" in html, who
    # and only the street sees the rating form
    assert 'class="rate-department"' not in world.client("staff_a").get(f"/cases/{case.pk}/").content.decode()
    admin = world.client("admin")
    assert 'class="rate-department"' in admin.get(f"/cases/{case.pk}/").content.decode()
    # when the street rates it 4
    r = admin.post(
        f"/cases/{case.pk}/rate-department/", {"call": call.pk, "rating": "4", "comment": "到场及时"}
    )
    assert r.status_code == 302
    call.refresh_from_db()
    assert call.rating == 4 and call.rating_comment == "到场及时"
    assert case.events.filter(type=EventType.DEPARTMENT_RATED).exists()


@pytest.mark.django_db
def test_rating_a_department_refused(world):
    case = new_case(world, code="city-management", description="井盖缺失")
    [call] = services.whistle(case, world.users["admin"], [world.department])
    url = f"/cases/{case.pk}/rate-department/"
    # community staff and the department itself may not rate
    for who in ("staff_a", "department"):
        assert world.client(who).post(url, {"call": call.pk, "rating": "5"}).status_code == 404
    # a bad score is refused with a message and changes nothing
    admin = world.client("admin")
    admin.post(url, {"call": call.pk, "rating": "9"})
    call.refresh_from_db()
    assert call.rating is None
    # a case without a whistle answers 403
    other = new_case(world, description="另一件事")
    assert (
        admin.post(f"/cases/{other.pk}/rate-department/", {"call": call.pk, "rating": "5"}).status_code == 403
    )
    assert WhistleCall.objects.get(pk=call.pk).rating is None


@pytest.mark.django_db
def test_late_department_shown_on_the_case_page(world):
    import datetime as dt

    from django.utils import timezone

    from tongxin.cases.tasks import mark_late_report_ins

    case = new_case(world, code="city-management", description="井盖缺失")
    services.whistle(case, world.users["admin"], [world.department])
    mark_late_report_ins(now=timezone.now() + dt.timedelta(minutes=31))
    html = world.client("staff_a").get(f"/cases/{case.pk}/").content.decode()
    assert "超时未报到" in html
    assert Case.objects.get(pk=case.pk).state == CaseState.WHISTLED


@pytest.mark.django_db
def test_recategorise_through_the_api(world):
    import json

    case = new_case(world, code="repairs")
    url = f"/api/v1/cases/{case.pk}/reclassify"
    staff = world.client("staff_a")

    def post(client, body):
        return client.post(url, data=json.dumps(body), content_type="application/json")

    # missing, same and unknown categories are refused with the field named
    assert post(staff, {}).json()["field"] == "category"
    r = post(staff, {"category": "repairs"})
    assert r.status_code == 400 and r.json()["code"] == "same_category"
    assert post(staff, {"category": "nope"}).json()["code"] == "unknown_category"
    # another community's staff does not see the case
    assert post(world.client("staff_b"), {"category": "repairs-large"}).status_code == 404
    # the community's staff recategorise it
    r = post(staff, {"category": "repairs-large", "reason": "外墙脱落"})
    assert r.status_code == 200 and r.json()["category"] == "repairs-large"
    assert [e["type"] for e in r.json()["timeline"]].count("reclassified") == 2


@pytest.mark.django_db
def test_department_sees_resolve_and_return_after_reporting_in(world):
    case = new_case(world, code="city-management", description="井盖缺失")
    [call] = services.whistle(case, world.users["admin"], [world.department])
    dept = world.client("department")
    before = dept.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-action="resolve"' not in before and 'data-action="report-in"' in before
    services.report_in(call, world.users["department"], note="已出发")
    after = dept.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-action="resolve"' in after and 'data-action="return"' in after
    # and resolving on the web works
    r = dept.post(f"/cases/{case.pk}/do/resolve/", {"result": "井盖已更换"})
    assert r.status_code == 302
    assert Case.objects.get(pk=case.pk).state == CaseState.RESOLVED


@pytest.mark.django_db
def test_case_page_shows_a_missed_on_site_visit_and_the_plan_deadline(world):
    import datetime as dt

    from tongxin.cases.tasks import sweep_steps

    case = new_case(world, code="repairs-large", description="外墙脱落")
    sweep_steps(now=case.submitted_at + dt.timedelta(minutes=11))
    html = world.client("staff_a").get(f"/cases/{case.pk}/").content.decode()
    assert "未按时到场" in html and "方案期限" in html
