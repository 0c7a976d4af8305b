"""Cases services: intake, dispatch, claiming, whistle and report-in, feedback, merging, and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from tongxin.cases import rates, services
from tongxin.cases.choices import CaseError, CaseState, Channel, EventType, TransitionError
from tongxin.cases.models import Case, CaseEvent, CaseRollupDelta, HandlerRotation, WhistleCall
from tongxin.cases.signals import case_closed, case_resolved
from tongxin.cases.tests.core_fixtures import T0, make_member, new_case
from tongxin.core.models import AuditLog, Notification
from tongxin.regions.models import Department, RoleAssignment

M = dt.timedelta(minutes=1)


def snapshot() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        CaseRollupDelta.objects.count(),
        WhistleCall.objects.count(),
    )


# ---------------------------------------------------------------------------------------------------- intake


@pytest.mark.django_db
def test_address_text_resolves_dwelling_and_region_fields(world):
    # given a hotline call with an address typed by the operator and the caller's phone
    case = services.submit(
        channel=Channel.HOTLINE,
        category="repairs-leak",
        description="卫生间漏水",
        address="锦绣江山3栋2单元501",
        contact_phone="13900000001",
        contact_name="张三",
        actor=world.users["staff_a"],
        now=T0,
    )
    # then the dwelling, grid and region are resolved and the phone finds the resident; the phone is masked
    d = world.dwellings["a1"]
    assert (case.dwelling_id, case.grid_id, case.community_id, case.subdistrict_id) == (
        d.pk,
        d.grid_id,
        d.community_id,
        d.subdistrict_id,
    )
    assert case.reporter_id == world.residents["a1"].pk
    assert case.contact_phone_masked == "139****0001"
    assert "13900000001" not in case.contact_phone_enc
    assert AuditLog.objects.filter(object_type="cases.case", object_id=str(case.pk), action="create").exists()


@pytest.mark.django_db
def test_lat_long_resolves_grid_by_polygon(world):
    # given grid 3 has a polygon
    world.grid_3.polygon = {
        "type": "Polygon",
        "coordinates": [
            [[113.40, 30.35], [113.42, 30.35], [113.42, 30.37], [113.40, 30.37], [113.40, 30.35]]
        ],
    }
    world.grid_3.save()
    # when a patrol report comes with a point inside it
    case = services.submit(
        channel=Channel.GRID_PATROL,
        category="public-order",
        description="夜间噪音扰民",
        latitude=30.36,
        longitude=113.41,
        actor=world.users["grid_3"],
        now=T0,
    )
    # then the grid and community are known
    assert (case.grid_id, case.community_id) == (world.grid_3.pk, world.community_b.pk)
    # and a point outside every polygon is refused
    with pytest.raises(CaseError) as err:
        services.submit(
            channel=Channel.GRID_PATROL,
            category="public-order",
            description="噪音",
            latitude=31.0,
            longitude=114.0,
            now=T0,
        )
    assert err.value.code == "unknown_location"


@pytest.mark.django_db
def test_idempotency_key_returns_the_same_case(world):
    # given a submission with an Idempotency-Key
    kw = dict(
        channel=Channel.API,
        category="environment",
        description="垃圾桶满了",
        estate=world.estate_a,
        idempotency_key="abc-123",
        idempotency_client="client-1",
        now=T0,
    )
    first = services.submit(**kw)
    before = snapshot()
    # when it is retried
    again = services.submit(**kw)
    # then the same case comes back and nothing new is written
    assert again.pk == first.pk
    assert snapshot() == before
    # but another client with the same key gets its own case
    other = services.submit(**{**kw, "idempotency_client": "client-2"})
    assert other.pk != first.pk


@pytest.mark.django_db
def test_case_numbers_are_sequential_per_day(world):
    # given two cases submitted one after the other on 2026-11-18
    a, b = new_case(world), new_case(world)
    if settings.IS_POSTGRES:
        # then (PostgreSQL, sequence without a row lock) both carry the day and increase, 7-digit sequence part
        assert a.number[:8] == b.number[:8] == "20261118"
        assert len(a.number) == len(b.number) == 15
        assert int(b.number[8:]) > int(a.number[8:])
    else:
        # then (SQLite, per-day counter) they are numbered 1 and 2 of the day
        assert (a.number, b.number) == ("2026111800001", "2026111800002")


@pytest.mark.django_db
def test_bad_input_gets_clear_errors_and_changes_nothing(world):
    """Acceptance 6."""
    staff = world.users["staff_a"]
    before = snapshot()
    # unknown category
    with pytest.raises(CaseError, match="未知的诉求类别") as e1:
        services.submit(
            channel=Channel.HOTLINE, category="no-such", description="x", dwelling=world.dwellings["a1"]
        )
    # a location that resolves nowhere (not the suggestion box)
    with pytest.raises(CaseError, match="无法确定") as e2:
        services.submit(channel=Channel.HOTLINE, category="environment", description="x", address="火星1栋")
    # a 4,001-character description
    with pytest.raises(CaseError, match="4000") as e3:
        services.submit(
            channel=Channel.HOTLINE,
            category="environment",
            description="漏" * 4001,
            dwelling=world.dwellings["a1"],
        )
    assert (e1.value.code, e2.value.code, e3.value.code) == (
        "unknown_category",
        "unknown_location",
        "description_too_long",
    )
    assert snapshot() == before
    # exactly 4,000 characters is fine
    ok = services.submit(
        channel=Channel.HOTLINE,
        category="environment",
        description="漏" * 4000,
        dwelling=world.dwellings["a1"],
    )
    # a wrong state transition: closing a case that is not resolved
    before = snapshot()
    with pytest.raises(TransitionError, match="待受理"):
        services.close(ok, staff)
    # a claim by someone out of scope (the case is not open for claiming, and the user lives elsewhere)
    outsider = make_member(world, "outsider", key="b1", seq=71)
    services.open_for_claiming(ok, staff)
    before = snapshot()
    with pytest.raises(CaseError, match="不存在") as refused:  # not in their grid: they do not see it
        services.claim(ok, outsider)
    assert refused.value.code == "not_found"
    ok.refresh_from_db()
    assert ok.state == CaseState.OPEN_FOR_CLAIMING and ok.assignee_id is None
    assert snapshot() == before


@pytest.mark.django_db
def test_suggestion_box_accepts_anonymous_without_location(world):
    # given an anonymous suggestion with no place
    case = services.submit(
        channel=Channel.SUGGESTION_BOX,
        category="environment",
        description="希望增加分类垃圾桶",
        anonymous=True,
        contact_phone="13900000009",
        now=T0,
    )
    # then it is kept, no contact stored, and the receipt code finds it
    assert case.community_id is None and case.contact_phone_enc == ""
    assert services.lookup_by_receipt(case.number, case.receipt_code.lower()) == case
    assert services.lookup_by_receipt(case.number, "WRONGCODE") is None


# ---------------------------------------------------------------------------------------------------- dispatch


@pytest.mark.django_db
def test_staff_out_of_scope_cannot_dispatch(world):
    case = new_case(world)  # community A
    with pytest.raises(CaseError) as err:
        services.dispatch(case, world.users["staff_b"], assignee=world.users["grid_3"])
    assert err.value.code == "not_found"  # out of scope: as if it did not exist (404 through the API)
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


@pytest.mark.django_db
def test_return_and_transfer(world):
    case = new_case(world)
    staff, grid1 = world.users["staff_a"], world.users["grid_1"]
    services.dispatch(case, staff, assignee=grid1, now=T0)
    # when the grid worker returns it with a reason, the dispatcher hears it
    services.return_case(case, grid1, "不属于网格职责")
    case.refresh_from_db()
    assert case.state == CaseState.RETURNED and case.assignee_id is None
    assert Notification.objects.filter(user=staff, kind="case_returned").exists() is False  # only on commit
    # then it can be dispatched again and transferred to the property company
    services.dispatch(case, staff, assignee=grid1)
    services.transfer(case, staff, property_company=world.property_company, reason="物业维修")
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.property_company_id == world.property_company.pk
    assert case.assignee_id is None
    assert list(case.events.values_list("type", flat=True)) == [
        EventType.SUBMITTED,
        EventType.DISPATCHED,
        EventType.RETURNED,
        EventType.DISPATCHED,
        EventType.TRANSFERRED,
    ]
    with pytest.raises(CaseError):
        services.return_case(case, world.users["property"], "")


@pytest.mark.django_db
def test_round_robin_picks_least_recently_assigned_persistently(world):
    # given a category with three handlers
    from tongxin.cases.models import Category

    cat = Category.objects.get(service_code="environment")
    handlers = [world.users["grid_1"], world.users["staff_a"], world.users["admin"]]
    cat.handlers.set(handlers)
    staff = world.users["staff_a"]
    # when five cases are round-robined
    picked = []
    for i in range(5):
        case = new_case(world, code="environment", now=T0 + i * M)
        services.round_robin(case, staff, now=T0 + i * M)
        case.refresh_from_db()
        picked.append(case.assignee_id)
    # then they rotate in order and the rotation is stored
    ids = sorted(u.pk for u in handlers)  # never assigned before: ties go by user id
    assert picked == [ids[0], ids[1], ids[2], ids[0], ids[1]]
    assert HandlerRotation.objects.get(category=cat, user_id=ids[0]).assigned_count == 2


@pytest.mark.django_db
def test_round_robin_uses_on_duty_provider(world, settings):
    settings.CASES_ON_DUTY_PROVIDER = "tongxin.cases.tests.test_services_core.only_grid_1"
    case = new_case(world, code="environment")
    services.round_robin(case, world.users["staff_a"])
    case.refresh_from_db()
    assert case.assignee_id == world.users["grid_1"].pk


def only_grid_1(category, grid):
    from tongxin.core.models import User

    return list(User.objects.filter(username="grid_1"))


@pytest.mark.django_db
def test_claiming_by_matching_member_one_winner(world):
    # given a public-order case open for claiming in grid 1 and two patrol members living there
    a = make_member(world, "member_a", seq=61)
    b = make_member(world, "member_b", seq=62)
    mediator = make_member(world, "mediator", post="mediation", seq=63)
    case = new_case(world, code="public-order", description="小区夜间有陌生人徘徊")
    services.open_for_claiming(case, world.users["staff_a"])
    assert services.eligible_claimer_ids(case) == sorted([a.pk, b.pk])
    # the members see it, the mediator (other post) cannot claim it
    assert Case.objects.visible_to(a).filter(pk=case.pk).exists()
    with pytest.raises(CaseError):
        services.claim(case, mediator)
    # when both claim one after the other, the first wins
    services.claim(case, a)
    with pytest.raises(CaseError, match="已被他人认领"):
        services.claim(case, b)
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.assignee_id == a.pk
    assert case.events.filter(type=EventType.CLAIMED).count() == 1


# ---------------------------------------------------------------------------------------------------- whistle


@pytest.mark.django_db
def test_whistle_to_two_departments_one_reports_late(world):
    """Acceptance 4."""
    from tongxin.conftest import make_user

    zhujian = Department.objects.create(
        subdistrict=world.subdistrict, name="住房和城乡建设局", short_name="住建"
    )
    liaison_zj = make_user("dept_zj", is_staff=True)
    RoleAssignment.objects.create(user=liaison_zj, role="department_liaison", department=zhujian)
    chengguan, liaison_cg = world.department, world.users["department"]
    case = new_case(world, code="city-management", description="小区门口违章搭建")
    admin = world.users["admin"]
    # community staff may not whistle
    with pytest.raises(CaseError, match="街道"):
        services.whistle(case, world.users["staff_a"], [chengguan])
    # when the subdistrict whistles 城管 and 住建
    calls = services.whistle(case, admin, [chengguan, zhujian], note="联合整治", now=T0)
    assert [c.report_by for c in calls] == [T0 + 30 * M] * 2
    # both departments see the case
    assert Case.objects.visible_to(liaison_zj).filter(pk=case.pk).exists()
    # 城管 reports in after 12 minutes, 住建 after 45
    cg = services.report_in(calls[0], liaison_cg, now=T0 + 12 * M)
    with pytest.raises(CaseError):
        services.report_in(calls[1], liaison_cg, now=T0 + 20 * M)  # not 住建's liaison
    zj = services.report_in(calls[1], liaison_zj, now=T0 + 45 * M)
    assert (cg.late, zj.late) == (False, True)
    services.rate_department(cg, admin, 5, "及时")
    services.rate_department(zj, admin, 3, "迟到")
    with pytest.raises(CaseError):
        services.rate_department(zj, admin, 6)
    # then the statistics show one late report and the ratings
    stats = {s["department"]: s for s in rates.whistle_stats(department_ids=[chengguan.pk, zhujian.pk])}
    assert stats["城管"]["late"] == 0 and stats["城管"]["on_time"] == 1
    assert stats["住建"]["late"] == 1 and stats["住建"]["avg_minutes_to_report"] == 45.0
    assert (stats["城管"]["avg_rating"], stats["住建"]["avg_rating"]) == (5.0, 3.0)
    # the departments stay until the case is resolved
    assert WhistleCall.objects.filter(case=case, active=True).count() == 2
    services.resolve(case, admin, "已拆除")
    assert WhistleCall.objects.filter(case=case, active=True).count() == 0


# ---------------------------------------------------------------------------------------------------- feedback


@pytest.mark.django_db
def test_not_fixed_reopens_and_reaches_the_handler(world, django_capture_on_commit_callbacks):
    case = new_case(world, reporter=world.residents["a1"])
    grid1, resident = world.users["grid_1"], world.users["resident"]
    services.dispatch(case, world.users["staff_a"], assignee=grid1, now=T0)
    services.resolve(case, grid1, "已修好", now=T0 + M)
    # someone else cannot say "not fixed"
    with pytest.raises(CaseError):
        services.not_fixed(case, world.users["volunteer"], "没修好")
    # when the reporter says it is not fixed
    with django_capture_on_commit_callbacks(execute=True):
        services.not_fixed(case, resident, "天花板还在滴水", now=T0 + 2 * M)
    case.refresh_from_db()
    # then the case is reopened and the handler reads the reporter's words
    assert case.state == CaseState.REOPENED and case.reopen_count == 1
    note = Notification.objects.get(user=grid1, kind="case_reopened")
    assert note.body == "天花板还在滴水"


@pytest.mark.django_db
def test_anonymous_reporter_rates_with_receipt_code_and_signals_fire(
    world, django_capture_on_commit_callbacks
):
    received = []
    case_resolved.connect(
        lambda **kw: received.append(("resolved", kw["case"].pk)), weak=False, dispatch_uid="t1"
    )
    case_closed.connect(
        lambda **kw: received.append(("closed", kw["case"].pk)), weak=False, dispatch_uid="t2"
    )
    try:
        case = services.submit(
            channel=Channel.SUGGESTION_BOX,
            category="environment",
            description="楼道堆物",
            anonymous=True,
            community=world.community_a,
            now=T0,
        )
        staff = world.users["admin"]
        with django_capture_on_commit_callbacks(execute=True):
            services.resolve(case, staff, "已清理")
        with pytest.raises(CaseError):
            services.confirm_and_rate(case, None, "satisfied", receipt_code="NOPE")
        with django_capture_on_commit_callbacks(execute=True):
            services.confirm_and_rate(
                case, None, "basically_satisfied", "还行", receipt_code=case.receipt_code
            )
        case.refresh_from_db()
        assert case.state == CaseState.CLOSED and case.rating == "basically_satisfied"
        assert received == [("resolved", case.pk), ("closed", case.pk)]
    finally:
        case_resolved.disconnect(dispatch_uid="t1")
        case_closed.disconnect(dispatch_uid="t2")


@pytest.mark.django_db
def test_follow_up_call_rates_and_closes(world):
    case = new_case(world)
    staff = world.users["staff_a"]
    services.resolve(case, staff, "已处理")
    # the call is made by someone who did not handle the case (the subdistrict's follow-up desk)
    caller = world.users["admin"]
    services.follow_up_call(case, caller, "satisfied", "电话回访满意")
    case.refresh_from_db()
    assert (case.state, case.rating_source) == (CaseState.CLOSED, "follow_up_call")
    with pytest.raises(CaseError):
        services.follow_up_call(case, caller, "satisfied")


@pytest.mark.django_db
def test_merge_informs_duplicate_reporters_of_outcome(world, django_capture_on_commit_callbacks):
    # given two reports of the same leak, the second by the resident with an account
    primary = new_case(world)
    dup = new_case(world, reporter=world.residents["a1"])
    staff = world.users["staff_a"]
    services.merge(dup, primary, staff)
    dup.refresh_from_db()
    assert dup.state == CaseState.MERGED and dup.merged_into_id == primary.pk
    with pytest.raises(CaseError):
        services.merge(primary, primary, staff)
    # when the primary is resolved
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve(primary, staff, "屋面已做防水")
    # then the duplicate's reporter is told the outcome
    note = Notification.objects.get(user=world.users["resident"], kind="case_resolved")
    assert note.body == "屋面已做防水"
    # and the duplicate no longer counts as received
    assert rates.counters(rates.Filters())["received"] == 1


@pytest.mark.django_db
def test_reveal_contact_phone_is_audited(world):
    case = services.submit(
        channel=Channel.FRONT_DESK,
        category="policy-question",
        description="咨询医保",
        dwelling=world.dwellings["a1"],
        contact_phone="13812345678",
        now=T0,
    )
    assert services.reveal_contact_phone(case, world.users["staff_a"]) == "13812345678"
    assert AuditLog.objects.filter(action="reveal", object_id=str(case.pk)).count() == 1
    with pytest.raises(CaseError):
        services.reveal_contact_phone(case, world.users["staff_b"])


def test_dispatch_only_to_someone_who_works_where_the_case_is(world):
    # given a leak reported in grid 1 of 满庭春社区 (community A)
    case = new_case(world)
    staff = world.users["staff_a"]
    before = snapshot()
    # when staff dispatch it to the grid worker of 大新社区, then it is refused and nothing changes
    with pytest.raises(CaseError) as err:
        services.dispatch(case.pk, staff, assignee=world.users["grid_3"])
    assert err.value.code == "assignee_out_of_scope"
    # and a property company that does not serve the estate is refused as well
    from tongxin.regions.models import PropertyCompany

    other = PropertyCompany.objects.create(name="富丰物业")
    other.estates.add(world.estate_b)
    with pytest.raises(CaseError) as err:
        services.dispatch(case.pk, staff, property_company=other)
    assert err.value.code == "company_out_of_scope"
    assert snapshot() == before
    # when they dispatch it to the grid worker of grid 1 or the estate's property company, it goes through
    assert services.dispatch(case.pk, staff, assignee=world.users["grid_1"]).assignee == world.users["grid_1"]
    case = new_case(world, description="二楼水管漏水")
    assert services.dispatch(case.pk, staff, property_company=world.property_company).state == "dispatched"
