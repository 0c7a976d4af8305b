"""Self-governance's part of the access policy.

* Staff of a community (community staff, the subdistrict admin) manage its matters, bodies, meetings and votes;
  grid workers and property staff (one of the four parties) follow them; grid workers also enter paper ballots.
* Residents reach the matters of the places they live in or own a part of (an estate, a building, an entrance):
  they support (附议) and comment during 议事, and follow each stage's published outcome.
* A vote is cast only by its electors: owners' votes by the owners on the roll (identity: the resident linked to
  the signed-in account), households' votes by the household of a dwelling, representatives' by the members.
* Members of an owners' committee (the derived role ``committee_member``) raise matters for their estate.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import AUTHENTICATED, Rule, describe_roles, register, role_provider
from tongxin.regions.choices import STAFF_ROLES, Role
from tongxin.regions.policy import MANAGERS, PLACES, REGISTRY, CommunityIn
from tongxin.regions.scoping import scope_for

COMMITTEE_MEMBER = "committee_member"
RESIDENT = Role.RESIDENT.value
ANYONE = frozenset({AUTHENTICATED})


def homes(user: Any) -> tuple[tuple[int, int, int, int], ...]:
    """(community, estate, building, entrance) of the dwellings a user lives in or owns (cached on the user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ()
    cached = getattr(user, "_tongxin_assembly_homes", None)
    if cached is not None:
        return cached
    from tongxin.assembly.models import Ownership
    from tongxin.regions.models import Dwelling

    owned = Ownership.objects.filter(resident__user=user, ended_on__isnull=True).values("dwelling_id")
    rows = (
        Dwelling.objects.filter(Q(residents__user=user) | Q(pk__in=owned))
        .values_list("community_id", "estate_id", "building_id", "entrance_id")
        .distinct()
    )
    result = tuple(sorted(set(rows)))
    user._tongxin_assembly_homes = result
    return result


def affected_q(user: Any, prefix: str = "") -> Q:
    """Matters (location fields behind ``prefix``) whose place contains one of the user's homes."""
    q = Q(pk__in=[])
    for community, estate, building, entrance in homes(user):
        q |= (
            Q(**{f"{prefix}community_id": community})
            & (Q(**{f"{prefix}estate_id__isnull": True}) | Q(**{f"{prefix}estate_id": estate}))
            & (Q(**{f"{prefix}building_id__isnull": True}) | Q(**{f"{prefix}building_id": building}))
            & (Q(**{f"{prefix}entrance_id__isnull": True}) | Q(**{f"{prefix}entrance_id": entrance}))
        )
    return q


def is_affected(user: Any, matter: Any) -> bool:
    for community, estate, building, entrance in homes(user):
        if (
            matter.community_id == community
            and matter.estate_id in (None, estate)
            and matter.building_id in (None, building)
            and matter.entrance_id in (None, entrance)
        ):
            return True
    return False


class Affected:
    description = _("本人居住或拥有房屋的小区、楼栋、单元")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(affected_q(user))

    def test(self, user: Any, obj: Any) -> bool:
        return is_affected(user, obj)


def elector_q(user: Any) -> Q:
    """Electors the signed-in user votes for: his own units (owners, representatives) or his household's."""
    from tongxin.assembly.choices import Electorate

    q = Q(resident__user=user) & ~Q(vote__electorate=Electorate.HOUSEHOLDS)
    dwellings = [d for d in _dwelling_ids(user)]
    if dwellings:
        q |= Q(vote__electorate=Electorate.HOUSEHOLDS, dwelling_id__in=dwellings)
    return q


def _dwelling_ids(user: Any) -> list[int]:
    from tongxin.people.models import Resident

    cached = getattr(user, "_tongxin_assembly_dwellings", None)
    if cached is None:
        cached = tuple(
            Resident.objects.filter(user=user, dwelling__isnull=False).values_list("dwelling_id", flat=True)
        )
        user._tongxin_assembly_dwellings = cached
    return list(cached)


class ElectorOf:
    description = _("本人是表决人（业主本人、本户或议事会成员）")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.assembly.models import Elector

        if not getattr(user, "is_authenticated", False):
            return qs.none()
        return qs.filter(Exists(Elector.objects.filter(elector_q(user), vote=OuterRef("pk"))))

    def test(self, user: Any, obj: Any) -> bool:
        from tongxin.assembly.models import Elector

        return Elector.objects.filter(elector_q(user), vote=obj).exists()


@role_provider(provides={COMMITTEE_MEMBER})
def committee_roles(user: Any) -> set[str]:
    """``committee_member`` for a resident account holding a seat on an active owners' committee."""
    if scope_for(user).roles & STAFF_ROLES:
        return set()
    from tongxin.assembly.choices import BodyKind
    from tongxin.assembly.models import BodyMember

    seated = BodyMember.objects.filter(
        resident__user=user, ended_on__isnull=True, body__active=True, body__kind=BodyKind.OWNERS_COMMITTEE
    ).exists()
    return {COMMITTEE_MEMBER} if seated else set()


describe_roles({COMMITTEE_MEMBER: _("业委会委员（在任）")})


def _deliberating(user: Any, matter: Any) -> bool:
    return matter is None or matter.stage == "deliberation"


def _open_matter(user: Any, matter: Any) -> bool:
    from tongxin.assembly.choices import OPEN_STAGES

    return matter is None or matter.stage in OPEN_STAGES


def _vote_open(user: Any, vote: Any) -> bool:
    if vote is None:
        return True
    from django.utils import timezone

    return vote.state == "open" and vote.closes_at > timezone.now()


def _vote_draft(user: Any, vote: Any) -> bool:
    return vote is None or vote.state in ("draft", "open")


def _meeting_planned(user: Any, meeting: Any) -> bool:
    return meeting is None or meeting.state == "planned"


def _meeting_not_cancelled(user: Any, meeting: Any) -> bool:
    return meeting is None or meeting.state != "cancelled"


MATTERS = CommunityIn()

register(
    Rule("assembly.list", PLACES, _("查看议题、表决、会议（社区工作台）"), where=MATTERS),
    Rule("assembly.view", PLACES, _("查看议题详情"), where=MATTERS),
    Rule(
        "assembly.propose",
        PLACES | {RESIDENT, COMMITTEE_MEMBER},
        _("提出议题（居民：本人居住的小区、楼栋、单元；工作人员：管辖社区）"),
    ),
    Rule(
        "assembly.propose_for_community",
        PLACES,
        _("以工作人员身份就管辖社区内任一范围提出议题（否则只能就本人居住的范围提出）"),
        where=MATTERS,
    ),
    Rule(
        "assembly.manage",
        MANAGERS,
        _("推进议题（转入协调、表决、实施，记录方案与进展，公示结果）"),
        where=MATTERS,
        when=_open_matter,
        condition=_("仅未办结的议题"),
        reason=_("该议题已办结、未通过或已撤回"),
    ),
    Rule("assembly.my_matters", ANYONE, _("查看与本人有关的议题（手机）")),
    Rule("assembly.view_as_resident", ANYONE, _("查看本人所在范围的议题（手机）"), where=Affected()),
    Rule(
        "assembly.support",
        ANYONE,
        _("附议议题"),
        where=Affected(),
        when=_deliberating,
        condition=_("仅议事阶段"),
        reason=_("议事阶段已结束，不能再附议"),
    ),
    Rule(
        "assembly.comment",
        ANYONE,
        _("对议题发表意见"),
        where=Affected(),
        when=_open_matter,
        condition=_("仅未办结的议题"),
        reason=_("该议题已结束"),
    ),
    Rule("assembly.view_bodies", PLACES, _("查看业委会、理事会、议事会"), where=CommunityIn()),
    Rule("assembly.manage_bodies", MANAGERS, _("登记自治组织及其成员、公约"), where=CommunityIn()),
    Rule(
        "assembly.view_owners",
        REGISTRY,
        _("查看业主名册（专有部分、业主、面积）"),
        where=CommunityIn("estate__parent_id"),
    ),
    Rule(
        "assembly.manage_owners",
        MANAGERS,
        _("登记业主名册（专有部分的业主与面积，转让时结束原记录）"),
        where=CommunityIn("estate__parent_id"),
    ),
    Rule("assembly.view_meetings", PLACES, _("查看联席会议、议事厅"), where=CommunityIn()),
    Rule(
        "assembly.manage_meetings",
        MANAGERS,
        _("召集会议、记录签到纪要和决定"),
        where=CommunityIn(),
        when=_meeting_not_cancelled,
        condition=_("未取消的会议"),
        reason=_("会议已取消"),
    ),
    Rule(
        "assembly.check_in",
        ANYONE,
        _("扫码签到参加会议"),
        when=_meeting_planned,
        condition=_("仅未召开完毕的会议"),
        reason=_("会议已结束或已取消"),
    ),
    Rule("assembly.view_votes", PLACES, _("查看表决、计票结果和选票清单"), where=CommunityIn()),
    Rule(
        "assembly.manage_votes",
        MANAGERS,
        _("发起、结束表决"),
        where=CommunityIn(),
        when=_vote_draft,
        condition=_("仅未结束的表决"),
        reason=_("表决已结束"),
    ),
    Rule(
        "assembly.enter_paper",
        REGISTRY,
        _("录入纸质选票（两人分别录入）"),
        where=CommunityIn(),
        when=_vote_open,
        condition=_("仅表决中"),
        reason=_("表决未开始或已截止"),
    ),
    Rule("assembly.export_votes", PLACES, _("导出计票结果和选票清单（公示）"), where=CommunityIn()),
    Rule("assembly.my_votes", ANYONE, _("查看本人可参加的表决（手机）"), where=ElectorOf()),
    Rule(
        "assembly.cast_ballot",
        ANYONE,
        _("本人投票或修改投票（截止前）"),
        where=ElectorOf(),
        when=_vote_open,
        condition=_("仅表决中、截止前"),
        reason=_("表决未开始或已截止"),
    ),
)
