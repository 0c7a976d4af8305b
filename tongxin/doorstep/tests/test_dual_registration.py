"""Target 4: a 下沉 cadre who lives outside the community is registered through the party page, takes a post and a
双楼长 role (through the building's leaders page), runs an errand, and his hours appear in his unit's yearly export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from tongxin.conftest import make_user
from tongxin.core import pii
from tongxin.doorstep import reports, services
from tongxin.notices.choices import LeaderRole
from tongxin.notices.models import LeaderAssignment
from tongxin.party.models import CoBuildingUnit, PartyMember, ServicePost
from tongxin.regions.models import Region, RoleAssignment
from tongxin.volunteers import services as volunteers


def test_a_cadre_living_elsewhere_is_registered_serves_and_counts_for_his_unit(hall):
    w = hall.world
    unit = CoBuildingUnit.objects.create(name="市税务局", kind="adopting", committee_member=True)
    unit.communities.add(w.community_a)
    staff = w.client("staff_a")
    id_number = pii.generate_id_number("420100", dt.date(1978, 5, 6), 7, False)
    # when community staff register him through the page, without a dwelling
    response = staff.post(
        reverse("party:register_member"),
        {
            "community": w.community_a.pk,
            "name": "刘建国",
            "id_number": id_number,
            "phone": "13912345678",
            "member_type": "dual_registered",
            "sinking_cadre": "on",
            "employer": unit.pk,
            "post_title": "副局长",
            "reported_in_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    member = PartyMember.objects.select_related("resident").get(resident__name="刘建国")
    assert member.resident.dwelling_id is None and member.community_id == w.community_a.pk
    assert member.sinking_cadre and member.employer_id == unit.pk and member.lives_elsewhere
    # then staff of A see him in the roster and staff of B do not
    assert "刘建国" in staff.get(reverse("party:member_list")).content.decode()
    assert "刘建国" not in w.client("staff_b").get(reverse("party:member_list")).content.decode()
    # he takes a post of A and is a 双楼长 next to a resident building leader
    post = ServicePost.objects.create(community=w.community_a, code="convenience", name="便民服务岗")
    volunteers.assign_post(post, member, actor=w.users["staff_a"])
    building = Region.objects.get(pk=w.dwellings["a1"].building_id)
    response = staff.post(
        reverse("notices:building_leaders", args=[building.pk]),
        {
            "role": LeaderRole.BUILDING_LEADER,
            "place": building.pk,
            "resident": member.resident.pk,
            "cadre": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    pair = LeaderAssignment.objects.get(resident=member.resident, ended_on__isnull=True)
    assert pair.cadre and pair.community_id == w.community_a.pk
    # he signs in and runs a resident's errand: the hours go to his time bank
    user = make_user("liu_cadre")
    RoleAssignment.objects.create(user=user, role="volunteer")
    member.resident.user = user
    member.resident.save(update_fields=["user"])
    errand = services.ask_errand(w.users["resident"], title="代办医保报销")
    services.take_errand(user, errand)
    services.hand_in(user, errand, documents="发票、病历", signed_by="张三")
    services.finish(user, errand, result="已报销")
    services.hand_back(user, errand, documents="报销单", signed_by="张三", hours="2")
    # and the unit's yearly export shows his 2 hours
    units = reports.yearly_hours(w.users["staff_a"], timezone.localdate().year)
    row = next(u for u in units if u.unit_id == unit.pk)
    assert row.hours == Decimal("2.00") and row.members[0].member.pk == member.pk
    csv_text = staff.get(reverse("doorstep:hours") + "?format=csv").content.decode("utf-8-sig")
    assert "市税务局" in csv_text and "刘建国" in csv_text and "2.00" in csv_text
    assert "刘建国" not in w.client("staff_b").get(reverse("doorstep:hours") + "?format=csv").content.decode(
        "utf-8-sig"
    )


def test_the_register_page_refuses_what_it_must(hall):
    w = hall.world
    page = reverse("party:register_member")
    assert w.client("grid_3").get(page).status_code == 200
    assert w.client("property").get(page).status_code == 404
    assert w.client("resident").get(page).status_code == 404
    # a community of another staff is not offered, and a name is required
    r = w.client("staff_b").post(
        page, {"community": w.community_a.pk, "name": "x", "member_type": "dual_registered"}
    )
    assert r.status_code == 200 and not PartyMember.objects.exists()
    r = w.client("staff_a").post(
        page, {"community": w.community_a.pk, "name": "", "member_type": "dual_registered"}
    )
    assert r.status_code == 200 and not PartyMember.objects.exists()
