"""Working a case between intake and rating: 改类, routing at intake and round-robin inside the community, the
whistled department after report-in (and one that never reports in), the on-site and plan reminders."""

from __future__ import annotations

import datetime as dt

import pytest

from tongxin.cases import rates, services
from tongxin.cases.choices import CaseError, CaseState, EventType, Supervision, TransitionError
from tongxin.cases.models import Case, CaseEvent, Category, WhistleCall
from tongxin.cases.tasks import mark_late_report_ins, sweep_deadlines, sweep_steps
from tongxin.cases.tests.core_fixtures import T0, category, new_case
from tongxin.core.models import Notification

M = dt.timedelta(minutes=1)
D = dt.timedelta(days=1)


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("kind", flat=True))


# --- 改类 -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_repair_recategorised_as_large_gets_the_15_day_clock_from_the_change(world):
    # given a 房屋报修 (中修, 7 days) dispatched to the property company at T0
    case = new_case(world, code="repairs")
    services.dispatch(case, world.users["staff_a"], property_company=world.property_company, now=T0)
    assert case.resolve_by == T0 + 7 * D
    # when staff recategorise it as 大修 two hours later
    later = T0 + 2 * dt.timedelta(hours=1)
    services.reclassify(case, world.users["staff_a"], "repairs-large", reason="外墙整体脱落", now=later)
    case.refresh_from_db()
    # then the category, the tiers and every deadline come from 大修, counted from the change
    assert case.category.service_code == "repairs-large"
    assert case.resolve_by == later + 15 * D
    assert case.plan_by == later + D
    assert case.on_site_by == later + 10 * M
    # and the case keeps its handler and state
    assert case.state == CaseState.DISPATCHED and case.property_company_id == world.property_company.pk
    # and the timeline says what changed, with the reason
    event = case.events.filter(type=EventType.RECLASSIFIED, payload__direction="in").get()
    assert event.payload["reason"] == "外墙整体脱落"
    assert event.payload["from_name"] == "房屋报修" and event.payload["to_name"] == "大修"


@pytest.mark.django_db
def test_recategorising_moves_the_case_counters_to_the_new_category(world):
    # given a responded case under 房屋报修
    case = new_case(world, code="repairs")
    services.accept(case, world.users["staff_a"], now=T0 + M)
    old, new = category("repairs"), category("repairs-large")
    # when it is recategorised
    services.reclassify(case, world.users["staff_a"], new, now=T0 + 5 * M)
    # then the old category counts nothing and the new one the received and responded case, as a recount does
    day = T0.date()
    for cat, received in ((old, 0), (new, 1)):
        f = rates.Filters(start=day, end=day, category_ids=(cat.pk,))
        counted = rates.counters(f)
        assert counted["received"] == received and counted["responded_in_time"] == received
        assert counted == rates.recount(f)


@pytest.mark.django_db
def test_recategorising_restarts_supervision_with_the_new_clock(world):
    # given a leak (1 day) left overdue: yellow card
    case = new_case(world)
    sweep_deadlines(now=T0 + D + M)
    case.refresh_from_db()
    assert case.supervision == Supervision.YELLOW
    # when it turns out to be a large repair
    services.reclassify(case, world.users["staff_a"], "repairs-large", now=T0 + D + 2 * M)
    case.refresh_from_db()
    # then the new 15-day clock runs and the card is lifted (the old deadlines stay in the audit and the event)
    assert case.supervision == Supervision.NORMAL and not case.overdue and case.sweep_level == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "code", "error"),
    [
        ("staff_b", "repairs-large", "not_found"),  # 大新社区's staff on a 满庭春 case: out of their view
        ("property", "repairs-large", "not_found"),  # property staff do not recategorise (nor see this case)
        ("staff_a", "repairs-leak", "same_category"),
        ("staff_a", "no-such-thing", "unknown_category"),
    ],
)
def test_recategorising_refused(world, who, code, error):
    case = new_case(world)
    with pytest.raises(CaseError) as exc:
        services.reclassify(case, world.users[who], code, now=T0 + M)
    assert exc.value.code == error
    case.refresh_from_db()
    assert case.category.service_code == "repairs-leak"
    assert not case.events.filter(type=EventType.RECLASSIFIED).exists()


@pytest.mark.django_db
def test_a_closed_case_is_not_recategorised(world):
    case = new_case(world)
    services.reject(case, world.users["staff_a"], "重复反映", now=T0 + M)
    with pytest.raises(TransitionError):
        services.reclassify(case, world.users["staff_a"], "repairs-large", now=T0 + 2 * M)


@pytest.mark.django_db
def test_the_1715_complex_policy_is_attached_to_a_category():
    cat = Category.objects.select_related("policy").get(service_code="property-complex")
    assert cat.policy.code == "1715-complex"
    assert cat.policy.plan_within == D and cat.policy.on_site_within == 10 * M


# --- routing at intake and round-robin ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_repair_goes_to_the_estates_property_company_at_intake(world):
    # given repairs route automatically to the estate's property company
    Category.objects.filter(service_code="repairs-leak").update(auto_route=True)
    # when a leak is reported in 锦绣江山 (one company serves it)
    case = new_case(world)
    # then it is dispatched to that company at once, as a first response in time
    assert case.state == CaseState.DISPATCHED
    assert case.property_company_id == world.property_company.pk
    assert case.first_response_at == T0
    event = case.events.get(type=EventType.DISPATCHED)
    assert event.payload["note"] == "auto_route" and event.actor is None


@pytest.mark.django_db
def test_no_company_serves_the_estate_so_the_case_waits_for_staff(world):
    # given auto-routing on, and 富丰新城 (大新社区) served by no property company
    Category.objects.filter(service_code="repairs-leak").update(auto_route=True)
    # when a leak is reported there
    case = new_case(world, key="b1")
    # then it is not sent to 满庭春's company: it waits for 大新社区's staff
    assert case.state == CaseState.SUBMITTED and case.property_company_id is None


@pytest.mark.django_db
def test_default_company_is_used_only_where_it_serves(world):
    from tongxin.regions.models import PropertyCompany

    other = PropertyCompany.objects.create(name="富丰物业")
    other.estates.add(world.estate_b)
    Category.objects.filter(service_code="repairs-leak").update(
        auto_route=True, default_property_company=other
    )
    # when leaks arrive in both estates
    in_b, in_a = new_case(world, key="b1"), new_case(world, key="a1", description="另一处漏水")
    # then 富丰新城's goes to the default company, 锦绣江山's to its own company (the default does not serve it)
    assert in_b.property_company_id == other.pk
    assert in_a.property_company_id == world.property_company.pk


@pytest.mark.django_db
def test_city_matters_go_to_the_default_department_of_the_subdistrict(world):
    Category.objects.filter(service_code="city-management").update(
        auto_route=True, default_department=world.department
    )
    case = new_case(world, code="city-management", description="小区门口占道经营")
    assert case.state == CaseState.DISPATCHED and case.department_id == world.department.pk


@pytest.mark.django_db
def test_without_auto_route_nothing_is_dispatched(world):
    case = new_case(world)
    assert case.state == CaseState.SUBMITTED and case.property_company_id is None


@pytest.mark.django_db
def test_round_robin_stays_inside_the_cases_community(world, settings):
    # given one round-robin list with 满庭春's grid worker and 大新社区's grid worker
    settings.CASES_ON_DUTY_PROVIDER = ""
    cat = Category.objects.get(service_code="public-order")
    cat.handlers.set([world.users["grid_1"], world.users["grid_3"]])
    # when three 大新社区 cases are round-robined
    cases = [
        new_case(world, key="b1", code="public-order", description=f"夜间噪音扰民 {i}") for i in range(3)
    ]
    for c in cases:
        services.round_robin(c, world.users["staff_b"], now=T0 + M)
    # then every one goes to 大新社区's grid worker, never to 满庭春's
    assignees = set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("assignee_id", flat=True))
    assert assignees == {world.users["grid_3"].pk}


@pytest.mark.django_db
def test_round_robin_does_not_fall_back_to_another_community(world, settings):
    # given only 满庭春's grid worker on the list
    settings.CASES_ON_DUTY_PROVIDER = ""
    Category.objects.get(service_code="public-order").handlers.set([world.users["grid_1"]])
    case = new_case(world, key="b1", code="public-order", description="夜间噪音扰民")
    # when a 大新社区 case is round-robined
    with pytest.raises(CaseError) as exc:
        services.round_robin(case, world.users["staff_b"], now=T0 + M)
    # then it says nobody here is on duty and the case is unchanged
    assert exc.value.code == "no_handler"
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED and case.assignee_id is None


# --- the whistled department -------------------------------------------------------------------------------------


def whistled(world, at=T0):
    case = new_case(world, code="city-management", description="井盖缺失，夜里有人绊倒")
    [call] = services.whistle(case, world.users["admin"], [world.department], note="请城管到场", now=at)
    return case, call


@pytest.mark.django_db
def test_department_works_the_case_after_reporting_in(world):
    # given a whistle to 城管
    case, call = whistled(world)
    dept = world.users["department"]
    # then before reporting in the department cannot resolve
    with pytest.raises(CaseError):
        services.resolve(case, dept, "已处理", now=T0 + M)
    # when it reports in with a note
    services.report_in(call, dept, note="城管执法队王队长带2人20分钟内到", now=T0 + 5 * M)
    # then it records a step, a progress note and resolves the case like any handler
    services.mark_on_site(case, dept, now=T0 + 9 * M)
    services.comment(case, dept, "已设置围挡", now=T0 + 10 * M)
    services.resolve(case, dept, "井盖已更换", now=T0 + 60 * M)
    case.refresh_from_db()
    call.refresh_from_db()
    assert case.state == CaseState.RESOLVED and case.on_site_at == T0 + 9 * M
    assert call.report_note.startswith("城管执法队") and call.late is False and not call.active


@pytest.mark.django_db
def test_department_returns_its_part_with_a_reason(world, django_capture_on_commit_callbacks):
    case, call = whistled(world)
    dept = world.users["department"]
    services.report_in(call, dept, now=T0 + 5 * M)
    # when the department returns the case (nobody else is on it)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_case(case, dept, "属住建部门职责", now=T0 + 20 * M)
    case.refresh_from_db()
    call.refresh_from_db()
    # then its call is released, the case goes back to the dispatcher, the street and the community are told
    assert not call.active and case.state == CaseState.RETURNED
    assert case.events.filter(type=EventType.DEPARTMENT_RETURNED).exists()
    assert "case_returned" in kinds(world.users["admin"]) and "case_returned" in kinds(world.users["staff_a"])
    # and it can no longer act on it
    with pytest.raises(CaseError):
        services.comment(case, dept, "补充", now=T0 + 21 * M)


@pytest.mark.django_db
def test_department_return_needs_a_reason(world):
    case, call = whistled(world)
    services.report_in(call, world.users["department"], now=T0 + 5 * M)
    with pytest.raises(CaseError) as exc:
        services.department_return(case, world.users["department"], "  ", now=T0 + 6 * M)
    assert exc.value.code == "reason_required"


@pytest.mark.django_db
def test_department_that_never_reports_in_is_marked_late_at_30_minutes(
    world, django_capture_on_commit_callbacks
):
    # given a whistle at T0 (report by T0 + 30 min)
    case, call = whistled(world)
    Notification.objects.all().delete()
    # when the check runs at +29 min nothing happens; at +31 min the call is late
    assert mark_late_report_ins(now=T0 + 29 * M) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert mark_late_report_ins(now=T0 + 31 * M) == 1
    call.refresh_from_db()
    assert call.late is True and call.reported_at is None
    # then the timeline shows it, the department, the community and the street are told, and it is counted
    assert case.events.filter(type=EventType.REPORT_IN_LATE).count() == 1
    for who in ("department", "staff_a", "admin"):
        assert "case_report_in_late" in kinds(world.users[who]), who
    [row] = rates.whistle_stats(department_ids=[world.department.pk])
    assert row["late"] == 1
    # and a second run changes nothing
    assert mark_late_report_ins(now=T0 + 40 * M) == 0
    assert case.events.filter(type=EventType.REPORT_IN_LATE).count() == 1
    # and reporting in afterwards keeps the lateness
    services.report_in(call, world.users["department"], now=T0 + 45 * M)
    call.refresh_from_db()
    assert call.late is True


@pytest.mark.django_db
def test_a_reported_call_is_never_marked_late(world):
    _case, call = whistled(world)
    services.report_in(call, world.users["department"], now=T0 + 10 * M)
    assert mark_late_report_ins(now=T0 + 60 * M) == 0


# --- the on-site and plan reminders ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_on_site_reminder_then_escalation_when_missed(world, django_capture_on_commit_callbacks):
    # given a leak dispatched to the property company (on site within 10 min)
    case = new_case(world)
    services.dispatch(case, world.users["staff_a"], property_company=world.property_company, now=T0)
    Notification.objects.all().delete()
    prop, staff = world.users["property"], world.users["staff_a"]

    def sweep(at):
        with django_capture_on_commit_callbacks(execute=True):
            return sweep_steps(now=at)

    # when nobody arrives: at +4 min nothing, at +5 min the handler is reminded
    assert sweep(T0 + 4 * M)["on_site_due_soon"] == 0
    assert sweep(T0 + 5 * M)["on_site_due_soon"] == 1
    assert kinds(prop) == ["case_step_due_soon"] and kinds(staff) == []
    # and at +10 min the miss is escalated to the handler and the community
    assert sweep(T0 + 10 * M)["on_site_overdue"] == 1
    assert "case_step_overdue" in kinds(prop) and kinds(staff) == ["case_step_overdue"]
    # and each goes once
    assert sum(sweep(T0 + 20 * M).values()) == 0
    assert list(case.events.filter(type__startswith="on_site_").values_list("type", flat=True)) == [
        EventType.ON_SITE_DUE_SOON,
        EventType.ON_SITE_OVERDUE,
    ]


@pytest.mark.django_db
def test_no_reminder_once_on_site_and_plan_reminded_10_minutes_before(world):
    # given a large repair (on site 10 min, plan within 1 day) and the handler on site in time
    case = new_case(world, code="repairs-large", description="外墙脱落")
    services.dispatch(case, world.users["staff_a"], property_company=world.property_company, now=T0)
    services.mark_on_site(case, world.users["property"], now=T0 + 3 * M)
    # then no on-site reminder; the plan is reminded 10 minutes before its deadline and escalated after it
    assert sweep_steps(now=T0 + 30 * M) == {
        "on_site_due_soon": 0,
        "on_site_overdue": 0,
        "plan_due_soon": 0,
        "plan_overdue": 0,
    }
    assert sweep_steps(now=T0 + D - 10 * M)["plan_due_soon"] == 1
    assert sweep_steps(now=T0 + D)["plan_overdue"] == 1


@pytest.mark.django_db
def test_a_case_first_seen_after_its_deadline_is_escalated_not_warned(world):
    case = new_case(world)
    result = sweep_steps(now=T0 + 30 * M)
    assert result["on_site_overdue"] == 1 and result["on_site_due_soon"] == 0
    assert not case.events.filter(type=EventType.ON_SITE_DUE_SOON).exists()


@pytest.mark.django_db
def test_step_sweep_uses_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for i in range(5):
        new_case(world, description=f"漏水 {i}")
    with django_assert_max_num_queries(12):
        assert sweep_steps(now=T0 + 30 * M)["on_site_overdue"] == 5


@pytest.mark.django_db
def test_reclassify_restarts_the_step_reminders(world):
    case = new_case(world, code="repairs")
    sweep_steps(now=T0 + 30 * M)
    services.reclassify(case, world.users["staff_a"], "repairs-large", now=T0 + 40 * M)
    case.refresh_from_db()
    assert case.step_sweep == 0 and case.on_site_by == T0 + 50 * M
    assert WhistleCall.objects.count() == 0 and CaseEvent.objects.filter(case=case).exists()
