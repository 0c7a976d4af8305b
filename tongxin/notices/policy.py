"""Notices' part of the access policy: the derived role ``place_leader`` (a resident holding a leader role on a
building or an entrance), where leaders' and staff's objects lie, and every action on leaders and notices.

Staff reach notices, relays and receipts through their :class:`~tongxin.regions.scoping.Scope`; leaders through
the places they lead (a building leader: the whole building; the others: their entrance). A household reaches its
own receipts. Leaders see neighbours' names and dwelling numbers, never phones, id numbers or care tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core import media
from tongxin.core.policy import AUTHENTICATED, Rule, describe_roles, register, role_provider
from tongxin.regions.choices import STAFF_ROLES
from tongxin.regions.policy import MANAGERS, PARTY_MEMBER, PLACES, REGISTRY, InScope
from tongxin.regions.scoping import scope_for

PLACE_LEADER = "place_leader"


@dataclass(frozen=True)
class Led:
    """The places a user leads now."""

    buildings: frozenset[int] = frozenset()
    entrances: frozenset[int] = frozenset()

    def q(self, prefix: str = "") -> Q:
        q = Q(pk__in=[])
        if self.buildings:
            q |= Q(**{f"{prefix}building_id__in": sorted(self.buildings)})
        if self.entrances:
            q |= Q(**{f"{prefix}entrance_id__in": sorted(self.entrances)})
        return q

    def covers(self, obj: Any) -> bool:
        return (
            getattr(obj, "building_id", None) in self.buildings
            or getattr(obj, "entrance_id", None) in self.entrances
        )

    def __bool__(self) -> bool:
        return bool(self.buildings or self.entrances)


def led_by(user: Any) -> Led:
    """The buildings and entrances ``user`` leads (one query, cached on the user object)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Led()
    cached = getattr(user, "_tongxin_led", None)
    if cached is not None:
        return cached
    from tongxin.notices.choices import LeaderRole
    from tongxin.notices.models import LeaderAssignment

    buildings: set[int] = set()
    entrances: set[int] = set()
    rows = LeaderAssignment.objects.filter(resident__user=user, ended_on__isnull=True).values_list(
        "role", "building_id", "entrance_id"
    )
    for role, building_id, entrance_id in rows:
        if role == LeaderRole.BUILDING_LEADER:
            buildings.add(building_id)
        elif entrance_id:
            entrances.add(entrance_id)
    led = Led(frozenset(buildings), frozenset(entrances))
    user._tongxin_led = led
    return led


@role_provider(provides={PLACE_LEADER})
def leader_roles(user: Any) -> set[str]:
    """``place_leader`` for residents leading a place. Staff accounts (registry, property, department roles) are
    not asked: a leader acts through a resident account, and staff pages keep their query budget."""
    if scope_for(user).roles & STAFF_ROLES:
        return set()
    return {PLACE_LEADER} if led_by(user) else set()


describe_roles({PLACE_LEADER: _("楼栋长/单元长（楼栋长、单元长、层管员、党员中心户）")})


class InScopeOrLed:
    """Objects with location fields in the user's scope (staff) or in the places they lead (leaders)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.description = _("本人管辖范围内，或本人担任楼栋长/单元长的楼栋、单元")

    def q(self, user: Any) -> Q:
        scope = scope_for(user)
        q = scope.q(self.prefix) if not scope.is_empty else Q(pk__in=[])
        led = led_by(user)
        if led:
            q |= led.q(self.prefix)
        return q

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(self.q(user))

    def test(self, user: Any, obj: Any) -> bool:
        target = obj
        for part in [p for p in self.prefix.split("__") if p]:
            target = getattr(target, part, None)
        if target is None:
            return False
        scope = scope_for(user)
        return (not scope.is_empty and scope.covers(target)) or led_by(user).covers(target)


def grid_estate_ids(user: Any) -> frozenset[int]:
    """Estates with a building in the user's grids: a grid worker answers for passing a notice on to them."""
    cached = getattr(user, "_tongxin_grid_estates", None)
    if cached is not None:
        return cached
    from tongxin.regions.models import Region

    grids = scope_for(user).grid_ids
    found = frozenset(
        Region.objects.filter(kind="building", grid_id__in=sorted(grids)).values_list("parent_id", flat=True)
        if grids
        else []
    )
    if getattr(user, "is_authenticated", False):
        user._tongxin_grid_estates = found
    return found


class RelayReach(InScopeOrLed):
    """Relays in the user's scope or led places, plus the estate relays of the estates their grids cut across."""

    def q(self, user: Any) -> Q:
        q = super().q(user)
        estates = grid_estate_ids(user)
        return q | Q(level="estate", estate_id__in=sorted(estates)) if estates else q

    def test(self, user: Any, obj: Any) -> bool:
        if super().test(user, obj):
            return True
        return obj.level == "estate" and obj.estate_id in grid_estate_ids(user)


class NoticeReaches:
    """Notices the user wrote, or that reach (have a relay in) the user's scope or led places."""

    description = _("本人发布的，或下达到本人管辖范围、本人所带楼栋/单元的通知")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.notices.models import Relay

        # a correlated EXISTS: one index probe on (notice, …) per notice, not every relay in the user's scope
        relays = RelayReach().filter(Relay.objects.filter(notice_id=OuterRef("pk")), user)
        return qs.filter(Q(author=user) | Exists(relays))

    def test(self, user: Any, obj: Any) -> bool:
        from tongxin.notices.models import Relay

        if obj.author_id == getattr(user, "pk", None):
            return True
        return RelayReach().filter(Relay.objects.filter(notice_id=obj.pk), user).exists()


class OwnHousehold:
    """Notices (or receipts) addressed to the household the user lives in."""

    description = _("发给本人家庭的通知")

    def __init__(self, field: str = "receipts__household_id") -> None:
        self.field = field

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        household_id = own_household_id(user)
        return qs.filter(**{self.field: household_id}) if household_id else qs.none()

    def test(self, user: Any, obj: Any) -> bool:
        return self.filter(type(obj).objects.filter(pk=obj.pk), user).exists()


def own_household_id(user: Any) -> int | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_tongxin_household", 0)
    if cached != 0:
        return cached
    from tongxin.people.models import Resident

    household_id = (
        Resident.objects.filter(user=user, status="active").values_list("household_id", flat=True).first()
    )
    user._tongxin_household = household_id
    return household_id


def _draft(user: Any, notice: Any) -> bool:
    return notice is None or notice.state == "draft"


def _sent(user: Any, notice: Any) -> bool:
    return notice is None or notice.state == "sent"


def _relay_pending(user: Any, relay: Any) -> bool:
    return relay is None or (relay.state == "pending" and relay.notice.state == "sent")


def _receipt_open(user: Any, receipt: Any) -> bool:
    return receipt is None or receipt.notice.state == "sent"


LEADERS = frozenset({PLACE_LEADER})

register(
    # leaders on places
    Rule("notices.view_leaders", PLACES, _("查看楼栋长、单元长"), where=InScope()),
    Rule("notices.assign_leader", MANAGERS | {"grid_worker"}, _("任命、卸任楼栋长和单元长"), where=InScope()),
    Rule("notices.leader_home", LEADERS, _("楼栋长/单元长手机首页：本人所带住户")),
    # notices (staff)
    Rule("notices.list", REGISTRY | LEADERS, _("查看通知列表"), where=NoticeReaches()),
    Rule("notices.view", REGISTRY | LEADERS, _("查看通知"), where=NoticeReaches()),
    Rule("notices.create", MANAGERS, _("起草通知")),
    Rule(
        "notices.send",
        MANAGERS,
        _("发送通知"),
        where=NoticeReaches(),
        when=_draft,
        condition=_("仅草稿"),
        reason=_("通知已发送"),
    ),
    Rule(
        "notices.close",
        MANAGERS,
        _("结束通知"),
        where=NoticeReaches(),
        when=_sent,
        condition=_("仅已发送的通知"),
        reason=_("通知未发送或已结束"),
    ),
    Rule("notices.view_coverage", REGISTRY | LEADERS, _("查看覆盖情况"), where=NoticeReaches()),
    Rule(
        "notices.remind",
        MANAGERS | {"grid_worker"},
        _("催办未转达、未读的层级和家庭"),
        where=NoticeReaches(),
        when=_sent,
        condition=_("仅已发送的通知"),
        reason=_("通知未发送或已结束"),
    ),
    Rule("notices.export_receipts", MANAGERS, _("导出回执清单"), where=NoticeReaches()),
    Rule(
        "notices.pass_on",
        REGISTRY | LEADERS,
        _("确认已向下一级转达"),
        where=RelayReach(),
        when=_relay_pending,
        condition=_("仅待转达、通知未结束"),
        reason=_("本级已转达或通知已结束"),
    ),
    Rule(
        "notices.record_receipt",
        REGISTRY | LEADERS,
        _("代家庭登记回执（入户、电话）"),
        where=InScopeOrLed(),
        when=_receipt_open,
        condition=_("通知未结束"),
        reason=_("通知已结束"),
    ),
    Rule(
        "notices.record_receipts",
        REGISTRY | LEADERS,
        _("成批登记回执（一轮入户、网关回执）"),
        where=NoticeReaches(),
        when=_sent,
        condition=_("仅已发送、未结束的通知；只登记本人范围内的家庭"),
        reason=_("通知未发送或已结束"),
    ),
    # households on their phones
    Rule(
        "notices.my_notices",
        frozenset({"resident", "volunteer", PARTY_MEMBER, PLACE_LEADER}),
        _("查看发给我家的通知"),
    ),
    Rule("notices.view_mine", frozenset({AUTHENTICATED}), _("阅读发给我家的一条通知"), where=OwnHousehold()),
    Rule(
        "notices.respond",
        frozenset({AUTHENTICATED}),
        _("阅读、确认、回复发给我家的通知"),
        where=OwnHousehold(),
        when=_sent,
        condition=_("仅已发送、未结束的通知"),
        reason=_("通知已结束"),
    ),
)


def _attachment(path: str) -> list[tuple[str, Any]] | None:
    """A notice's attachment (``/media/notices/…``): for the staff and leaders the notice reaches, and the
    households it was sent to."""
    from tongxin.notices.models import NoticeAttachment

    found = NoticeAttachment.objects.select_related("notice").filter(file=path).first()
    if found is None:
        return None
    return [("notices.view", found.notice), ("notices.view_mine", found.notice)]


media.register("notices/", _attachment)
