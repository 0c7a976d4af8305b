"""The three rates, the rectification rate, and rollups that agree with a recount from raw events."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.cases import rates, services
from tongxin.cases.choices import CaseError, Channel
from tongxin.cases.models import Case
from tongxin.cases.tests.core_fixtures import T0, make_member, new_case

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)


@pytest.mark.django_db
def test_suggestion_box_story_209_received_all_rectified(world, settings):
    """Acceptance 1: 自创城以来收到意见209条，整改率100%."""
    settings.CASES_INTAKE_PER_HOUR = 1000  # 209 slips dropped in over the years, not one client in an hour
    staff = world.users["staff_a"]
    topics = ["房屋漏水", "下水道井盖破损", "楼道堆物", "路灯不亮", "垃圾分类点太少"]
    # given 209 suggestions posted to 满庭春社区's box over a few months (some anonymous)
    cases = [
        services.submit(
            channel=Channel.SUGGESTION_BOX,
            category="environment" if i % 3 else "repairs-small",
            description=f"{topics[i % 5]}（第{i + 1}条）",
            community=world.community_a,
            anonymous=i % 2 == 0,
            now=T0 - dt.timedelta(days=90) + i * 10 * H,
        )
        for i in range(209)
    ]
    scope = rates.Filters.for_region(world.community_a)
    assert rates.counters(scope)["suggestion_received"] == 209
    assert rates.rates(scope)["rates"]["rectification"] == 0.0
    # when every one is handled: contacted the red property company or the community, fixed the same day
    for c in cases:
        services.resolve(c, staff, "已整改", now=c.submitted_at + 4 * H)
    # then the rectification rate is 100 % and agrees with the raw events
    result = rates.rates(scope)
    assert result["counters"]["suggestion_received"] == 209
    assert result["counters"]["suggestion_rectified"] == 209
    assert result["rates"]["rectification"] == 1.0
    assert rates.recount(scope) == result["counters"]
    # and the other community's box is untouched
    assert rates.counters(rates.Filters.for_region(world.community_b))["suggestion_received"] == 0


@pytest.mark.django_db
def test_three_rates_formulas(world, settings):
    settings.CASES_RATE_WEIGHTS = {"response": 1, "resolution": 1, "satisfaction": 2}
    staff, grid1 = world.users["staff_a"], world.users["grid_1"]
    # given four cases: three answered within the 10-minute response window, one after an hour
    cases = [new_case(world, reporter=world.residents["a1"], now=T0 + i * M) for i in range(4)]
    for i, c in enumerate(cases):
        services.dispatch(c, staff, assignee=grid1, now=c.submitted_at + (H if i == 3 else 5 * M))
    # two resolved in time and rated (one satisfied, one dissatisfied), one resolved after the day is over
    services.resolve(cases[0], grid1, "修好", now=T0 + 2 * H)
    services.resolve(cases[1], grid1, "修好", now=T0 + 2 * H)
    services.resolve(cases[2], grid1, "修好", now=T0 + 30 * H)
    resident = world.users["resident"]
    services.confirm_and_rate(cases[0], resident, "satisfied")
    services.confirm_and_rate(cases[1], resident, "dissatisfied", "态度差")
    # when the rates are computed for the community
    r = rates.rates(rates.Filters.for_region(world.community_a))
    # then response = 3/4, resolution = 3/4 (in time 2/4), satisfaction = 1/2, composite weighted 1:1:2
    assert r["rates"]["response"] == 0.75
    assert r["rates"]["resolution"] == 0.75
    assert r["rates"]["resolution_in_time"] == 0.5
    assert r["rates"]["satisfaction"] == 0.5
    assert r["rates"]["composite"] == pytest.approx((0.75 + 0.75 + 2 * 0.5) / 4)
    # per handler: resolution over the cases assigned to them; response is not a handler measure
    h = rates.rates(rates.Filters(handler_id=grid1.pk))
    assert (
        h["counters"]["assigned"] == 4 and h["rates"]["resolution"] == 0.75 and h["rates"]["response"] is None
    )
    by_handler = rates.rates_by("handler_id", rates.Filters())
    assert [row["key"] for row in by_handler] == [grid1.pk]
    # and an empty slice has no rates rather than zero
    assert rates.rates(rates.Filters.for_region(world.community_b))["rates"]["response"] is None


OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "submit",
                "accept",
                "reject",
                "dispatch",
                "dispatch_company",
                "open",
                "claim",
                "start",
                "on_site",
                "return",
                "whistle",
                "report_in",
                "resolve",
                "rate",
                "not_fixed",
                "follow_up",
                "close",
                "merge",
                "fold",
            ]
        ),
        st.integers(min_value=0, max_value=5),  # which case
        st.integers(min_value=0, max_value=3),  # variant (channel, rating ...)
        st.integers(min_value=1, max_value=600),  # minutes that pass
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_rollups_equal_recount_after_random_transitions(world, ops):
    """Acceptance 7 (property test): whatever happens, the live rollups equal a recount from raw events."""
    admin, grid1 = world.users["admin"], world.users["grid_1"]
    member = getattr(world, "_member", None) or make_member(world, "prop_member", seq=81)
    world._member = member  # type: ignore[attr-defined]
    channels = [Channel.HOTLINE, Channel.SUGGESTION_BOX, Channel.GRID_PATROL, Channel.RESIDENT_APP]
    ratings = ["satisfied", "basically_satisfied", "dissatisfied", "satisfied"]
    codes = ["repairs-leak", "public-order", "environment", "property"]
    now = T0
    cases: list[Case] = []
    for op, idx, variant, minutes in ops:
        now += minutes * M
        if op == "submit" or not cases:
            cases.append(
                new_case(
                    world,
                    code=codes[variant],
                    key=["a1", "a2", "b1"][idx % 3],
                    channel=channels[variant],
                    reporter=world.residents["a1"],
                    now=now,
                )
            )
            continue
        if op == "fold":  # the periodic task folds the deltas into the daily and monthly rollups
            rates.fold_deltas()
            continue
        case = Case.objects.get(pk=cases[idx % len(cases)].pk)
        try:
            if op == "accept":
                services.accept(case, admin, now=now)
            elif op == "reject":
                services.reject(case, admin, "不属于受理范围", now=now)
            elif op == "dispatch":
                services.dispatch(case, admin, assignee=grid1, now=now)
            elif op == "dispatch_company":
                services.dispatch(case, admin, property_company=world.property_company, now=now)
            elif op == "open":
                services.open_for_claiming(case, admin, now=now)
            elif op == "claim":
                services.claim(case, member, now=now)
            elif op == "start":
                services.start(case, admin, now=now)
            elif op == "on_site":
                services.mark_on_site(case, admin, now=now)
            elif op == "return":
                services.return_case(case, admin, "退回", now=now)
            elif op == "whistle":
                services.whistle(case, admin, [world.department], now=now)
            elif op == "report_in":
                call = case.whistle_calls.filter(reported_at__isnull=True).first()
                if call:
                    services.report_in(call, world.users["department"], now=now)
            elif op == "resolve":
                services.resolve(case, admin, "已办结", now=now)
            elif op == "rate":
                services.confirm_and_rate(case, world.users["resident"], ratings[variant], now=now)
            elif op == "not_fixed":
                services.not_fixed(case, world.users["resident"], "没有解决", now=now)
            elif op == "follow_up":
                services.follow_up_call(case, admin, ratings[variant], now=now)
            elif op == "close":
                services.close(case, admin, now=now)
            elif op == "merge":
                other = cases[(idx + 1) % len(cases)]
                services.merge(case, other, admin, now=now)
        except CaseError:
            pass  # refused operations must leave no trace in either the rollup or the events
    for f in (
        rates.Filters(),
        rates.Filters.for_region(world.community_a),
        rates.Filters(grid_id=world.grid_1.pk),
        rates.Filters(handler_id=grid1.pk),
        rates.Filters(handler_id=member.pk),
        rates.Filters(channel=Channel.SUGGESTION_BOX),
        rates.Filters(start=T0.date(), end=T0.date()),
        rates.Filters(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30)),  # a whole month
        rates.Filters(start=dt.date(2026, 11, 20), end=dt.date(2026, 12, 31)),  # partial + whole month
        rates.Filters(start=dt.date(2026, 12, 1)),
        rates.Filters(end=dt.date(2026, 11, 30), community_ids=(world.community_a.pk,)),
    ):
        assert rates.counters(f) == rates.recount(f)
        # and grouped by a dimension, each group equals the recount of that slice
        for dim, field in (
            ("community_id", "community_ids"),
            ("grid_id", "grid_id"),
            ("handler_id", "handler_id"),
        ):
            for row in rates.rates_by(dim, f):
                value = (row["key"],) if field == "community_ids" else row["key"]
                assert row["counters"] == rates.recount(dataclasses.replace(f, **{field: value}))
    totals = rates.counters(rates.Filters())
    assert 0 <= totals["resolved"] <= totals["received"] + totals["reopened"]
    assert totals["rated"] == totals["satisfied"] + totals["basically_satisfied"] + totals["dissatisfied"]


@pytest.mark.django_db
def test_monthly_rollup_answers_whole_months_and_agrees_with_recount(world):
    """Coarse rollup: whole months come from the monthly table, partial months from the daily one."""
    from tongxin.cases.models import CaseRollup, CaseRollupDayCommunity, CaseRollupDelta, CaseRollupMonth

    staff = world.users["admin"]
    # given cases on both sides of a month boundary, some resolved, the deltas folded, then one more case
    days = [dt.timedelta(days=d) for d in (-20, -10, 0, 12, 13, 20)]
    cases = [new_case(world, key=["a1", "a2", "b1"][i % 3], now=T0 + d) for i, d in enumerate(days)]
    for c in cases[::2]:
        services.resolve(c, staff, "已办结", now=c.submitted_at + H)
    assert rates.fold_deltas() > 0
    assert not CaseRollupDelta.objects.exists()
    late = new_case(world, now=T0 + dt.timedelta(days=14))
    # then the monthly rows sum the daily ones
    november = CaseRollupMonth.objects.filter(month=dt.date(2026, 11, 1))
    assert sum(november.values_list("received", flat=True)) == sum(
        CaseRollup.objects.filter(day__month=11).values_list("received", flat=True)
    )
    assert sum(CaseRollupDayCommunity.objects.values_list("received", flat=True)) == sum(
        CaseRollup.objects.values_list("received", flat=True)
    )
    # and the coarsest table that has the asked dimensions is chosen
    whole = rates.Filters(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    assert [m.__name__ for m, _ in rates.plan(whole)] == ["CaseRollupMonthCommunity", "CaseRollupDelta"]
    by_grid = dataclasses.replace(whole, start=dt.date(2026, 11, 1), end=dt.date(2026, 12, 3), grid_id=1)
    assert [m.__name__ for m, _ in rates.plan(by_grid)] == [
        "CaseRollupMonth",
        "CaseRollup",
        "CaseRollupDelta",
    ]
    by_handler = dataclasses.replace(whole, handler_id=staff.pk)
    assert [m.__name__ for m, _ in rates.plan(by_handler)] == ["CaseRollup", "CaseRollupDelta"]
    assert [m.__name__ for m, _ in rates.plan(whole, "day")] == ["CaseRollupDayCommunity", "CaseRollupDelta"]
    # and every range (whole months, partial edges, open ends, with unfolded deltas) equals the recount
    ranges = [
        (dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        (dt.date(2026, 10, 29), dt.date(2026, 12, 2)),
        (dt.date(2026, 11, 5), dt.date(2026, 11, 25)),
        (None, dt.date(2026, 11, 30)),
        (dt.date(2026, 11, 1), None),
        (None, None),
    ]
    slices = [
        {},
        {"grid_id": world.grid_1.pk},
        {"community_ids": (world.community_a.pk,)},
        {"channel": Channel.HOTLINE},
        {"handler_id": world.users["grid_1"].pk},
    ]
    for start, end in ranges:
        for kw in slices:
            f = rates.Filters(start=start, end=end, **kw)
            assert rates.counters(f) == rates.recount(f), (start, end, kw)
    assert rates.counters(rates.Filters())["received"] == len(cases) + 1
    # and a second fold moves the last delta; the figures do not change
    before = rates.counters(rates.Filters())
    assert rates.fold_deltas() >= 1
    assert rates.counters(rates.Filters()) == before
    assert late.number
