"""The notice cascade on the small world: send, pass on, read, record on behalf, coverage, remind, escalate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tongxin.core.models import Notification
from tongxin.core.policy import PolicyDenied
from tongxin.notices import coverage, services
from tongxin.notices.choices import (
    Action,
    Audience,
    LeaderRole,
    Level,
    ReceiptChannel,
    ReceiptStatus,
    RelayState,
)
from tongxin.notices.models import Receipt, Relay
from tongxin.notices.tests.conftest import add_household, make_leader


def _notice(world, **kw):
    defaults = dict(
        title="安心码使用说明", body="请各户扫码登记安心码。", target=world.estate_a, action=Action.CONFIRM
    )
    defaults.update(kw)
    return services.create(world.users["staff_a"], **defaults)


@pytest.mark.django_db(transaction=True)
def test_send_fans_out_receipts_and_relays_and_hands_the_estate_to_its_grid_worker(world):
    # given a second household with an account in 3栋2单元 (锦绣江山, grid 1)
    add_household(world, "a1", "502", "赵六", 11, account="zhao6")
    notice = _notice(world)
    # when community staff send it to 锦绣江山
    services.send(world.users["staff_a"], notice)
    notice.refresh_from_db()
    # then every household of the estate has a pending receipt, and relays exist for estate, buildings, entrances
    assert notice.households == 3
    assert Receipt.objects.filter(notice=notice, rank=0).count() == 3
    levels = sorted(Relay.objects.filter(notice=notice).values_list("level", flat=True))
    assert levels == ["building", "building", "entrance", "entrance", "estate"]
    estate_relay = Relay.objects.get(notice=notice, level=Level.ESTATE)
    assert estate_relay.households == 3 and estate_relay.state == RelayState.PENDING
    # and the grid worker of grid 1 is asked to pass it on; the households with accounts got it directly
    inbox = set(Notification.objects.filter(kind__startswith="notice").values_list("user__username", "kind"))
    assert ("grid_1", "notice_relay") in inbox
    assert ("resident_1", "notice") in inbox and ("zhao6", "notice") in inbox


@pytest.mark.django_db(transaction=True)
def test_cascade_reads_and_door_to_door_show_in_coverage(world):
    # given 张三 (resident_1) of 3栋2单元 is its entrance leader; 5栋 has no leaders at all
    leader = make_leader(
        world, world.residents["a1"], LeaderRole.ENTRANCE_LEADER, world.dwellings["a1"].entrance
    )
    neighbour = add_household(world, "a1", "601", "钱七", 12)
    notice = _notice(world)
    services.send(world.users["staff_a"], notice)
    # when the grid worker passes the estate on, buildings without leaders pass on by themselves
    estate = Relay.objects.get(notice=notice, level=Level.ESTATE)
    services.pass_on(world.users["grid_1"], estate)
    buildings = Relay.objects.filter(notice=notice, level=Level.BUILDING)
    assert all(r.state == RelayState.PASSED_ON and r.automatic for r in buildings)
    # and the 单元长 confirms for the entrance, reads it, and records 钱七 door to door
    entrance = Relay.objects.get(notice=notice, region=world.dwellings["a1"].entrance)
    services.pass_on(world.users["resident"], entrance)
    assert services.respond(world.users["resident"], notice, ReceiptStatus.CONFIRMED)
    receipt = Receipt.objects.get(notice=notice, household=neighbour.household)
    assert services.record_for_household(world.users["resident"], receipt, ReceiptChannel.DOOR)
    # then coverage of the estate: 2 of 3 households reached, 1 by a leader, 1 of 2 entrances passed on by him
    report = coverage.coverage(world.users["staff_a"], notice)
    assert (report.total.households, report.total.reached, report.total.by_leader) == (3, 2, 1)
    assert (report.total.entrances, report.total.entrances_passed) == (2, 1)
    by_building = {r.name: r for r in report.rows}
    assert by_building["3栋"].reached == 2 and not by_building["3栋"].lagging
    assert by_building["5栋"].reached == 0 and by_building["5栋"].lagging
    # and under the entrance the households: who read, who was recorded by whom
    inner = coverage.coverage(world.users["staff_a"], notice, world.dwellings["a1"].entrance)
    rows = {r.household_id: r for r in inner.receipts}
    assert rows[neighbour.household_id].channel == ReceiptChannel.DOOR
    assert rows[neighbour.household_id].recorded_by_id == leader.resident.user_id
    assert inner.total.passed_on_by == str(world.users["resident"])


@pytest.mark.django_db(transaction=True)
def test_a_receipt_never_moves_back_and_a_closed_notice_takes_none(world):
    notice = _notice(world)
    services.send(world.users["staff_a"], notice)
    assert services.respond(world.users["resident"], notice, ReceiptStatus.CONFIRMED)
    # reading again after confirming changes nothing
    assert not services.respond(world.users["resident"], notice, ReceiptStatus.READ)
    assert Receipt.objects.get(notice=notice, household=world.residents["a1"].household).status == "confirmed"
    services.close(world.users["staff_a"], notice)
    with pytest.raises(PolicyDenied):
        services.respond(world.users["resident"], notice, ReceiptStatus.CONFIRMED)


@pytest.mark.django_db(transaction=True)
def test_out_of_scope_staff_and_leaders_elsewhere_are_refused(world):
    notice = _notice(world)
    # staff of the other community may not send it (not found), nor see it
    with pytest.raises(PolicyDenied) as exc:
        services.send(world.users["staff_b"], notice)
    assert exc.value.decision.value == "not_found"
    services.send(world.users["staff_a"], notice)
    # a leader of 富丰新城 cannot pass on or record anything in 锦绣江山
    make_leader(
        world, world.residents["b1"], LeaderRole.BUILDING_LEADER, world.dwellings["b1"].building, "wang5"
    )
    wang5 = world.residents["b1"].user
    relay = Relay.objects.get(notice=notice, region=world.dwellings["a1"].entrance)
    with pytest.raises(PolicyDenied):
        services.pass_on(wang5, relay)
    receipt = Receipt.objects.get(notice=notice, household=world.residents["a1"].household)
    with pytest.raises(PolicyDenied):
        services.record_for_household(wang5, receipt, ReceiptChannel.PHONE)
    # property staff hold no notice action at all
    with pytest.raises(PolicyDenied):
        services.create(world.users["property"], title="x", body="y", target=world.estate_a)


@pytest.mark.django_db(transaction=True)
def test_reply_form_is_required_and_stored(world):
    notice = _notice(
        world, action=Action.REPLY, reply_fields=services.parse_reply_fields("在家人数\n联系时间")
    )
    services.send(world.users["staff_a"], notice)
    with pytest.raises(ValidationError):
        services.respond(world.users["resident"], notice, ReceiptStatus.REPLIED, reply={"f1": "3"})
    services.respond(world.users["resident"], notice, ReceiptStatus.REPLIED, reply={"f1": "3", "f2": "晚上"})
    receipt = Receipt.objects.get(notice=notice, household=world.residents["a1"].household)
    assert receipt.status == ReceiptStatus.REPLIED and receipt.reply == {"f1": "3", "f2": "晚上"}


@pytest.mark.django_db(transaction=True)
def test_party_member_and_tag_audiences(world):
    from tongxin.party.models import PartyMember
    from tongxin.people.models import Tag

    PartyMember.objects.create(resident=world.residents["a2"], member_type="resident")
    tag, _ = Tag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人"})
    world.residents["a1"].tags.add(tag)
    members = _notice(world, title="红色速递", audience=Audience.PARTY_MEMBERS, target=world.community_a)
    services.send(world.users["staff_a"], members)
    assert list(Receipt.objects.filter(notice=members).values_list("resident_id", flat=True)) == [
        world.residents["a2"].pk
    ]
    # a community-wide notice has community relays only when sent from the subdistrict
    assert not Relay.objects.filter(notice=members, level=Level.COMMUNITY).exists()
    elderly = _notice(world, title="降温提醒", audience=Audience.TAGGED, tags=[tag], target=world.community_a)
    services.send(world.users["staff_a"], elderly)
    assert list(Receipt.objects.filter(notice=elderly).values_list("household_id", flat=True)) == [
        world.residents["a1"].household_id
    ]


@pytest.mark.django_db(transaction=True)
def test_sweep_reminds_then_escalates_once(world):
    now = timezone.now()
    notice = _notice(world, deadline=now + dt.timedelta(hours=3))
    services.send(world.users["staff_a"], notice, now=now)
    # two thirds of the way: the grid worker (estate still pending) and the unread account are reminded
    assert services.sweep(now + dt.timedelta(hours=2, minutes=1)) == {"reminded": 1, "escalated": 0}
    assert services.sweep(now + dt.timedelta(hours=2, minutes=30)) == {"reminded": 0, "escalated": 0}
    # past the deadline: the pending estate goes up to the community staff, once
    before = Notification.objects.filter(kind="notice_escalate").count()
    assert services.sweep(now + dt.timedelta(hours=3, minutes=1))["escalated"] == 1
    escalated = set(
        Notification.objects.filter(kind="notice_escalate").values_list("user__username", flat=True)
    )
    assert "staff_a" in escalated and Notification.objects.filter(kind="notice_escalate").count() > before
    assert services.sweep(now + dt.timedelta(hours=4))["escalated"] == 0


@pytest.mark.django_db(transaction=True)
def test_export_lists_every_household_without_phones(world):
    import io

    import openpyxl

    notice = _notice(world)
    services.send(world.users["staff_a"], notice)
    services.respond(world.users["resident"], notice, ReceiptStatus.CONFIRMED)
    from tongxin.notices.exports import export_receipts

    data, name = export_receipts(world.users["staff_a"], notice)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and name.endswith(".xlsx")
    assert {r[5] for r in rows[1:]} == {"已确认", "未读"}
    assert not any("139" in str(c) for r in rows for c in r if c)
    with pytest.raises(PolicyDenied):
        export_receipts(world.users["grid_1"], notice)
