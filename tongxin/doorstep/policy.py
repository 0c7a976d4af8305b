"""Doorstep's part of the access policy.

* Community staff (and the subdistrict admin) run the catalogue, the merchants, the rooms and the piecework
  orders of their communities; grid workers work at the windows and see the requests of their communities.
* The back office finishes what the front desk recorded: community staff of the community (any of them — the
  back-office unit is named on the function, the people are the community's).
* Errands are run by staff of the community, or by a volunteer or party member who lives in it; the runner keeps
  the errand until it is handed back.
* Residents (and volunteers, party members: :data:`PARTICIPANTS`) book, ask and claim on their phone in the
  community where they live, and see their own requests only.
* Property staff and department liaisons have no part here (404).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Owned, Rule, register
from tongxin.ledger.policy import PARTICIPANTS, InHomeCommunity, OwnResident, home_community_id, resident_of
from tongxin.regions.choices import Role
from tongxin.regions.policy import MANAGERS, PARTY_MEMBER, REGISTRY, CommunityIn, community_ids
from tongxin.regions.scoping import scope_for

RUNNERS = REGISTRY | {Role.VOLUNTEER, PARTY_MEMBER}
PIECEWORK_TAG = "piecework"


def serving_community_id(user: Any) -> int | None:
    """Where a participant serves: the community he lives in, or — a 下沉 cadre living elsewhere — the one he
    reported in to."""
    home = home_community_id(user)
    if home is not None:
        return home
    resident = resident_of(user)
    member = getattr(resident, "party_member", None) if resident is not None else None
    return member.community_id if member is not None and member.active else None


class ErrandScope:
    """Errands of the communities the user works in (staff), or of the community where the user lives (volunteers
    and party members), and those the user runs."""

    description = _("本人工作或居住的社区的代办，或本人承接的代办")

    def _communities(self, user: Any) -> list[int]:
        ids = set(community_ids(user)) if scope_for(user).has_role(*REGISTRY) else set()
        home = serving_community_id(user)
        if home is not None:
            ids.add(home)
        return sorted(ids)

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(
            Q(kind="errand")
            & (Q(community_id__in=self._communities(user)) | Q(runner_id=getattr(user, "pk", 0)))
        )

    def test(self, user: Any, obj: Any) -> bool:
        if obj.kind != "errand":
            return False
        return obj.runner_id == getattr(user, "pk", None) or obj.community_id in self._communities(user)


def _slot_open(user: Any, slot: Any) -> bool:
    if slot is None:
        return True
    from django.utils import timezone

    return slot.booked < slot.capacity and slot.starts_at > timezone.now() and slot.function.active


def _open_request(user: Any, request: Any) -> bool:
    return request is None or request.state in ("requested", "taken", "handling")


def _takeable(user: Any, request: Any) -> bool:
    return request is None or request.state == "requested"


def _runs_it(user: Any, request: Any) -> bool:
    """The runner carries the errand on; community staff may step in for an absent runner."""
    if request is None:
        return True
    if request.state not in ("taken", "handling", "done"):
        return False
    if request.runner_id == getattr(user, "pk", None):
        return True
    return scope_for(user).has_role(*REGISTRY) and request.community_id in community_ids(user)


def _claimable(user: Any, order: Any) -> bool:
    if order is None:
        return True
    if order.state != "open" or order.claimed >= order.quantity:
        return False
    resident = resident_of(user)
    return resident is not None and resident.tags.filter(code=PIECEWORK_TAG).exists()


def _bookable(user: Any, obj: Any) -> bool:
    return obj is None or obj.active


def _rateable(user: Any, booking: Any) -> bool:
    return booking is None or (booking.state == "done" and booking.rating is None)


register(
    Rule("doorstep.view_catalogue", REGISTRY, _("查看服务窗口和事项"), where=CommunityIn()),
    Rule("doorstep.manage_catalogue", MANAGERS, _("设置服务窗口、事项和预约时段"), where=CommunityIn()),
    Rule("doorstep.work_window", REGISTRY, _("窗口取号、叫号、受理"), where=CommunityIn()),
    Rule("doorstep.view_requests", REGISTRY, _("查看窗口受理和代办"), where=CommunityIn()),
    Rule(
        "doorstep.handle_request",
        MANAGERS,
        _("后台办理（办结或退回窗口受理的事项）"),
        where=CommunityIn(),
        when=_open_request,
        condition=_("仅办理中的事项"),
        reason=_("该事项已办结或已退回"),
    ),
    Rule("doorstep.view_errands", RUNNERS, _("查看可承接的代办"), where=ErrandScope()),
    Rule(
        "doorstep.take_errand",
        RUNNERS,
        _("承接代办"),
        where=ErrandScope(),
        when=_takeable,
        condition=_("仅待接单的代办"),
        reason=_("该代办已有人承接"),
    ),
    Rule(
        "doorstep.run_errand",
        RUNNERS,
        _("代办：签收材料、办结、签字交还"),
        where=ErrandScope(),
        when=_runs_it,
        condition=_("本人承接的、进行中的代办（社区工作人员可代为处理）"),
        reason=_("该代办不由您承接，或已结束"),
    ),
    Rule("doorstep.my_services", PARTICIPANTS, _("手机上的便民服务（预约、代办、场地、代工）")),
    Rule(
        "doorstep.book_appointment",
        PARTICIPANTS,
        _("预约办事时段"),
        where=InHomeCommunity(),
        when=_slot_open,
        condition=_("仅有余额、尚未开始的时段"),
        reason=_("该时段已约满或已过时"),
    ),
    Rule("doorstep.ask_errand", PARTICIPANTS, _("申请代办"), where=InHomeCommunity()),
    Rule("doorstep.view_own", PARTICIPANTS, _("查看本人的预约和办事进度"), where=OwnResident()),
    Rule("doorstep.view_piecework", REGISTRY, _("查看家庭代工订单"), where=CommunityIn()),
    Rule(
        "doorstep.manage_piecework", MANAGERS, _("登记代工订单、验收交货、导出计件工资"), where=CommunityIn()
    ),
    Rule(
        "doorstep.claim_piecework",
        PARTICIPANTS,
        _("领取代工"),
        where=InHomeCommunity(),
        when=_claimable,
        condition=_("仅接单中、尚有余量的订单，且本人具有“家庭代工”标签"),
        reason=_("订单已领完或已结束，或您尚未登记为代工居民"),
    ),
    Rule("doorstep.view_merchants", REGISTRY, _("查看便民服务队"), where=CommunityIn()),
    Rule("doorstep.manage_merchants", MANAGERS, _("审核、管理便民服务商户"), where=CommunityIn()),
    Rule(
        "doorstep.book_merchant",
        PARTICIPANTS,
        _("预约便民服务商户"),
        where=InHomeCommunity(),
        when=_bookable,
        condition=_("仅在队商户"),
        reason=_("该商户已退出服务队"),
    ),
    Rule(
        "doorstep.rate_merchant",
        PARTICIPANTS,
        _("评价（或投诉）已完成的服务"),
        where=OwnResident(),
        when=_rateable,
        condition=_("仅已服务、尚未评价的预约"),
        reason=_("该预约尚未服务或已评价"),
    ),
    Rule("doorstep.view_venues", REGISTRY, _("查看场地及预约"), where=CommunityIn()),
    Rule(
        "doorstep.manage_venues", MANAGERS, _("管理场地，为队伍和共建单位预约、取消预约"), where=CommunityIn()
    ),
    Rule(
        "doorstep.book_venue",
        PARTICIPANTS,
        _("预约场地"),
        where=InHomeCommunity(),
        when=_bookable,
        condition=_("仅开放预约的场地"),
        reason=_("该场地暂不开放预约"),
    ),
    Rule("doorstep.shop", PARTICIPANTS, _("在便民生活服务直通车下单"), where=InHomeCommunity()),
    Rule(
        "doorstep.manage_shop", MANAGERS, _("管理直通车商品和订单（配送、自取、取消）"), where=CommunityIn()
    ),
    Rule(
        "doorstep.cancel_own_venue",
        PARTICIPANTS,
        _("取消本人的场地预约"),
        where=Owned("booked_by_id", _("本人预约的")),
    ),
    Rule("doorstep.export_hours", MANAGERS, _("导出党员和共建单位的年度服务时长"), where=CommunityIn()),
)
