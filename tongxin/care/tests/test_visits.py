"""Visit plans, due and overdue visits, the grid worker's home snippet, findings that open a case, care needs,
health services limited to eligible residents, and who may see care data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tongxin.care import services
from tongxin.care.choices import FollowUp, PlanKind, VisitState
from tongxin.care.models import HealthService, Visit
from tongxin.care.views import due_visits_context
from tongxin.core.models import Notification
from tongxin.core.policy import PolicyDenied, restrict
from tongxin.people.models import Tag


@pytest.fixture
def elderly(world):
    tag, _ = Tag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人"})
    world.residents["a1"].tags.add(tag)  # 张三, 3栋 (grid 1)
    world.residents["a2"].tags.add(tag)  # 李四, 5栋 (grid 2)
    return tag


def weekly_plan(world, elderly):
    return services.create_plan(
        world.users["staff_a"],
        name="独居老人每周走访",
        community=world.community_a,
        kind=PlanKind.TAGGED,
        tag=elderly,
        interval_days=7,
    )


@pytest.mark.django_db(transaction=True)
def test_weekly_plan_for_elderly_living_alone_produces_due_visits_once(world, elderly):
    today = dt.date(2026, 3, 2)
    plan = weekly_plan(world, elderly)
    # when the plan is scheduled (twice: idempotent)
    assert services.schedule(plan, today) == 2
    assert services.schedule(plan, today) == 0
    # then each elderly resident has one visit due within the week, placed in their grid
    visits = {v.resident_id: v for v in Visit.objects.filter(plan=plan)}
    assert set(visits) == {world.residents["a1"].pk, world.residents["a2"].pk}
    assert all(
        v.due_on == today + dt.timedelta(days=6) and v.state == VisitState.DUE for v in visits.values()
    )
    assert visits[world.residents["a1"].pk].grid_id == world.grid_1.pk


@pytest.mark.django_db(transaction=True)
def test_missed_visit_is_overdue_next_day_and_on_the_grid_workers_home(world, elderly):
    plan = weekly_plan(world, elderly)
    services.schedule(plan, dt.date(2026, 3, 2))
    due = Visit.objects.get(plan=plan, resident=world.residents["a1"])
    # on the due day nothing is overdue
    assert services.mark_overdue(due.due_on) == 0
    # the day after, the missed visits are overdue and the grid worker is told
    assert services.mark_overdue(due.due_on + dt.timedelta(days=1)) == 2
    due.refresh_from_db()
    assert due.state == VisitState.OVERDUE
    assert Notification.objects.filter(user=world.users["grid_1"], kind="visit_overdue").exists()
    # and the grid worker's home snippet lists it (only their grid's), overdue first
    ctx = due_visits_context(world.users["grid_1"], today=due.due_on + dt.timedelta(days=1))
    assert [v.pk for v in ctx["care_due"]["rows"]] == [due.pk]
    assert ctx["care_due"]["counts"]["overdue"] == 1
    # the page renders it
    html = world.client("grid_1").get("/care/").content.decode()
    assert f'data-visit="{due.pk}"' in html and 'data-state="overdue"' in html


@pytest.mark.django_db(transaction=True)
def test_a_finding_opens_a_grid_patrol_case_linked_to_the_visit(world, elderly, default_categories_db):
    from tongxin.cases.models import Case

    plan = weekly_plan(world, elderly)
    services.schedule(plan, timezone.localdate())
    visit = Visit.objects.get(plan=plan, resident=world.residents["a1"])
    category = default_categories_db
    done = services.record_visit(
        world.users["grid_1"],
        visit,
        findings="楼道灯坏了，老人夜里出门看不清",
        follow_up=FollowUp.CASE,
        category=category.pk,
    )
    assert done.state == VisitState.DONE and done.case is not None
    case = Case.objects.get(pk=done.case_id)
    assert case.channel == "grid_patrol" and case.dwelling_id == world.dwellings["a1"].pk
    # the plan's next visit is due one week after this one
    following = Visit.objects.get(plan=plan, resident=world.residents["a1"], state=VisitState.DUE)
    assert following.due_on == timezone.localtime(done.visited_at).date() + dt.timedelta(days=7)
    with pytest.raises(PolicyDenied):  # recorded already
        services.record_visit(world.users["grid_1"], done, findings="again")


@pytest.mark.django_db(transaction=True)
def test_care_data_is_not_for_property_staff_nor_other_grids_nor_unassigned_volunteers(world, elderly):
    plan = weekly_plan(world, elderly)
    services.schedule(plan, timezone.localdate())
    visit = Visit.objects.get(plan=plan, resident=world.residents["a2"])  # grid 2
    qs = Visit.objects.all()
    assert restrict(qs, world.users["property"], "care.view_visits").count() == 0
    assert restrict(qs, world.users["volunteer"], "care.view_visits").count() == 0
    assert visit not in restrict(qs, world.users["grid_1"], "care.view_visits")
    assert restrict(qs, world.users["staff_a"], "care.view_visits").count() == 2
    assert world.client("property").get("/care/").status_code == 404
    assert world.client("grid_1").get(f"/care/{visit.pk}/").status_code == 404
    with pytest.raises(PolicyDenied):
        services.record_visit(world.users["grid_3"], visit, findings="x")
    # a volunteer assigned to the visit sees it and may record it
    Visit.objects.filter(pk=visit.pk).update(assignee=world.users["volunteer"])
    assert list(restrict(qs, world.users["volunteer"], "care.view_visits")) == [visit]
    services.record_visit(world.users["volunteer"], visit, findings="老人身体不错")


@pytest.mark.django_db(transaction=True)
def test_raise_care_need_opens_one_due_visit_and_tells_the_grid_worker(world):
    resident = world.residents["a1"]
    first = services.raise_care_need(resident, "用水量连续24小时为零", source="sensors")
    again = services.raise_care_need(resident, "用水量仍为零", source="sensors")
    assert first.pk == again.pk and first.due_on == timezone.localdate() and first.plan_id is None
    assert Notification.objects.filter(user=world.users["grid_1"], kind="care_need").count() == 1
    with pytest.raises(PolicyDenied):
        services.raise_care_need(resident, "x", source="staff", actor=world.users["staff_b"])


@pytest.mark.django_db(transaction=True)
def test_health_service_sign_up_only_for_eligible_residents_and_within_capacity(world, elderly):
    service = services.create_health_service(
        world.users["staff_a"],
        community=world.community_a,
        kind="free_clinic",
        title="重阳义诊",
        starts_at=timezone.now() + dt.timedelta(days=3),
        capacity=1,
        tags=[elderly],
    )
    # 张三 (elderly, has an account) signs up himself; 李四 is eligible but the one place is taken
    services.sign_up(world.users["resident"], service, world.residents["a1"])
    with pytest.raises(ValidationError):
        services.sign_up(world.users["staff_a"], service, world.residents["a2"])
    # 王五 of the other community is not eligible
    HealthService.objects.filter(pk=service.pk).update(capacity=5)
    with pytest.raises((ValidationError, PolicyDenied)):
        services.sign_up(world.users["staff_b"], service, world.residents["b1"])
    assert list(services.eligible(service).order_by("pk")) == [world.residents["a1"], world.residents["a2"]]
    html = world.client("resident").get("/care/m/health/").content.decode()
    assert "重阳义诊" in html and "取消报名" in html


@pytest.mark.django_db(transaction=True)
def test_api_visits_and_my_health(world, elderly):
    import json

    plan = weekly_plan(world, elderly)
    services.schedule(plan, timezone.localdate())
    listing = world.client("grid_1").get("/api/v1/care/visits").json()
    assert listing["count"] == 1 and listing["items"][0]["resident_id"] == world.residents["a1"].pk
    visit_id = listing["items"][0]["id"]
    done = world.client("grid_1").post(
        f"/api/v1/care/visits/{visit_id}/record",
        json.dumps({"findings": "一切安好"}),
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert world.client("property").get("/api/v1/care/visits").status_code == 404
    service = services.create_health_service(
        world.users["staff_a"],
        community=world.community_a,
        kind="screening",
        title="血压筛查",
        starts_at=timezone.now() + dt.timedelta(days=1),
        capacity=3,
        tags=[elderly],
    )
    mine = world.client("resident").get("/api/v1/care/health/mine").json()
    assert [s["id"] for s in mine["items"]] == [service.pk]
    assert world.client("resident").post(f"/api/v1/care/health/{service.pk}/sign-up").status_code == 201
    # 王五 of the other community is not eligible: refused with the reason
    from tongxin.conftest import make_user

    world.residents["b1"].user = make_user("wang5")
    world.residents["b1"].save(update_fields=["user"])
    from django.test import Client

    c = Client()
    c.force_login(world.residents["b1"].user)
    assert c.post(f"/api/v1/care/health/{service.pk}/sign-up").status_code == 403
