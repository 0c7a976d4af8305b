"""Read helpers for the party pages, scoped like everything else, and the writes staff make: a member's 双报到
(:func:`register_member`), a unit's 报到 with its lists (:func:`record_unit_report_in`) and the 大党委's joint
meetings (:func:`record_joint_meeting`).

A user sees the party units serving places or grids in their scope, with the units below them; the units above
are shown as the way there. Members are people, so they go through ``PartyMember.objects.visible_to``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, pii, policy
from tongxin.core.models import AuditLog
from tongxin.party.choices import MemberType
from tongxin.party.models import (
    CoBuildingUnit,
    JointMeeting,
    Organisation,
    PartyMember,
    ServicePost,
    UnitReportIn,
)
from tongxin.people import services as people_services
from tongxin.people.models import Resident
from tongxin.regions.models import Grid, Region
from tongxin.regions.scoping import NOTHING, scope_for
from tongxin.regions.services import visible_community_ids


def _top_paths(paths: list[str]) -> list[str]:
    """Drop paths lying under another path of the list, so the filter stays short for a subdistrict admin."""
    top: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(t) for t in top):
            top.append(p)
    return top


def visible_organisations(user: Any) -> QuerySet[Organisation]:
    """Units serving a region or grid in the user's scope, and every unit below them."""
    scope = scope_for(user)
    if scope.everything:
        return Organisation.objects.all()
    own = Organisation.objects.filter(
        Q(region__in=Region.objects.visible_to(user).values("pk"))
        | Q(grid__in=Grid.objects.visible_to(user).values("pk"))
    )
    q = Q()
    for path in _top_paths(list(own.values_list("path", flat=True))):
        q |= Q(path__startswith=path)
    return Organisation.objects.filter(q if q else NOTHING)


@dataclass
class OrgNode:
    org: Organisation
    visible: bool
    children: list[OrgNode] = field(default_factory=list)
    total: int = 0


def organisation_tree(user: Any) -> list[OrgNode]:
    """The visible units with their member counts, under the (context-only) units above them."""
    visible = list(
        visible_organisations(user)
        .select_related("region", "grid", "secretary__resident")
        .annotate(member_count=Count("members", filter=Q(members__active=True)))
        .order_by("path")
    )
    visible_ids = {o.pk for o in visible}
    above_ids = {int(p) for o in visible for p in o.path.strip("/").split("/") if p} - visible_ids
    above = list(Organisation.objects.filter(pk__in=sorted(above_ids)).order_by("path"))
    nodes = {o.pk: OrgNode(o, o.pk in visible_ids) for o in sorted([*above, *visible], key=lambda o: o.path)}
    roots: list[OrgNode] = []
    for node in sorted(
        nodes.values(), key=lambda n: n.org.pk
    ):  # creation order, not the string order of paths
        parent = nodes.get(node.org.parent_id) if node.org.parent_id else None
        (parent.children if parent else roots).append(node)
    for node in roots:
        _total(node)
    return roots


def _total(node: OrgNode) -> int:
    """Members of the unit and every unit below it (as ``node.total``)."""
    own = getattr(node.org, "member_count", 0) if node.visible else 0
    node.total = own + sum(_total(child) for child in node.children)
    return node.total


def visible_service_posts(user: Any) -> QuerySet[ServicePost]:
    return ServicePost.objects.filter(community_id__in=sorted(visible_community_ids(user))).order_by(
        "community_id", "name"
    )


def visible_co_building_units(user: Any) -> QuerySet[CoBuildingUnit]:
    """Units that adopt a community the user works in, with how many of their members live in the scope."""
    scope = scope_for(user)
    communities = sorted(visible_community_ids(user))
    units = (
        CoBuildingUnit.objects.all()
        if scope.everything
        else CoBuildingUnit.objects.filter(communities__in=communities).distinct()
    )
    return units.annotate(
        member_count=Count(
            "members",
            filter=(scope.q("members__resident__dwelling__") | Q(members__community_id__in=communities))
            & Q(members__active=True),
            distinct=True,
        )
    ).order_by("-committee_member", "name")


def member_list(
    user: Any,
    *,
    member_type: str = "",
    organisation: Organisation | None = None,
    service_post_id: int | None = None,
    employer_id: int | None = None,
    q: str = "",
) -> QuerySet[PartyMember]:
    qs = PartyMember.objects.visible_to(user).filter(active=True)
    if member_type:
        qs = qs.filter(member_type=member_type)
    if organisation is not None:
        qs = qs.filter(organisation__path__startswith=organisation.path)
    if service_post_id:
        qs = qs.filter(service_post_id=service_post_id)
    if employer_id:
        qs = qs.filter(employer_id=employer_id)
    if q:
        qs = qs.filter(resident__name__startswith=q.strip())
    return qs.select_related(
        "resident__dwelling__estate",
        "resident__dwelling__building",
        "resident__dwelling__entrance",
        "organisation",
        "service_post",
        "employer",
        "community",
    ).order_by("pk")


# ------------------------------------------------------------------------------------------------- writes
class PartyError(ValidationError):
    pass


@transaction.atomic
def register_member(
    actor: Any,
    *,
    community: Region,
    member_type: str = MemberType.DUAL_REGISTERED,
    resident: Resident | None = None,
    name: str = "",
    id_number: str = "",
    phone: str = "",
    skills: str = "",
    employer: CoBuildingUnit | None = None,
    employer_name: str = "",
    post_title: str = "",
    sinking_cadre: bool = False,
    organisation: Organisation | None = None,
    reported_in_on: dt.date | None = None,
) -> PartyMember:
    """Record a member's 双报到 to ``community``: a resident of the registry (``resident``), or a person living
    elsewhere (``name``, ``id_number``, ``phone``: a 下沉 cadre or an in-service member whose home is outside the
    subdistrict) who is registered as a person without a dwelling and belongs to the community he serves."""
    probe = PartyMember(community=community, member_type=member_type)
    policy.require(actor, "party.register_member", probe)
    if member_type not in MemberType.values:
        raise PartyError({"member_type": _("党员类型无效")})
    if community.kind != "community":
        raise PartyError({"community": _("请选择社区")})
    if employer is not None and not employer.communities.filter(pk=community.pk).exists():
        raise PartyError({"employer": _("该单位未与本社区共建")})
    if organisation is not None and not visible_organisations(actor).filter(pk=organisation.pk).exists():
        raise PartyError({"organisation": _("党组织不存在或不在您的管辖范围内")})
    if resident is None:
        if not name.strip():
            raise PartyError({"name": _("请填写姓名，或选择本社区居民")})
        if id_number.strip():
            # a person already on record (a resident of another community of the subdistrict) is not doubled
            resident = Resident.objects.filter(id_number_hash=pii.lookup_hash(id_number)).first()
        if resident is None:
            resident = people_services.create_person(
                actor, name=name, id_number=id_number, phone=phone, skills=skills
            )
    if PartyMember.objects.select_for_update().filter(resident=resident).exists():
        raise PartyError({"resident": _("此人已登记为党员")})
    member = PartyMember.objects.create(
        resident=resident,
        member_type=member_type,
        community=community,
        employer=employer,
        employer_name=(employer_name or (employer.name if employer else "")).strip()[:100],
        post_title=post_title.strip()[:50],
        sinking_cadre=sinking_cadre,
        organisation=organisation,
        reported_in_on=reported_in_on or timezone.localdate(),
    )
    audit.record(
        AuditLog.Action.CREATE,
        member,
        actor=actor,
        after={
            "resident": resident.pk,
            "community": community.pk,
            "member_type": member_type,
            "employer": employer.pk if employer else None,
            "sinking_cadre": sinking_cadre,
        },
    )
    return member


@transaction.atomic
def record_unit_report_in(
    actor: Any,
    *,
    unit: CoBuildingUnit,
    community: Region,
    resources: str = "",
    needs: str = "",
    projects: str = "",
    reported_on: dt.date | None = None,
) -> UnitReportIn:
    """The unit's 报到 to the community with its three lists; reporting again updates the lists."""
    probe = UnitReportIn(unit=unit, community=community)
    policy.require(actor, "party.record_unit_work", probe)
    if not (resources.strip() or needs.strip() or projects.strip()):
        raise PartyError({"resources": _("请至少填写一项清单")})
    CoBuildingUnit.objects.select_for_update().filter(pk=unit.pk).first()
    report, created = UnitReportIn.objects.update_or_create(
        unit=unit,
        community=community,
        defaults={
            "resources": resources.strip(),
            "needs": needs.strip(),
            "projects": projects.strip(),
            "reported_on": reported_on or timezone.localdate(),
            "recorded_by": actor if getattr(actor, "is_authenticated", False) else None,
        },
    )
    unit.communities.add(community)
    audit.record(
        AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE,
        report,
        actor=actor,
        after={"unit": unit.pk, "community": community.pk},
    )
    return report


@transaction.atomic
def record_joint_meeting(
    actor: Any,
    *,
    community: Region,
    held_on: dt.date,
    topic: str,
    units: list[CoBuildingUnit],
    decisions: str = "",
) -> JointMeeting:
    """A joint meeting of the community's 大党委 with the units that attended."""
    meeting = JointMeeting(
        community=community, held_on=held_on, topic=topic.strip()[:200], decisions=decisions
    )
    policy.require(actor, "party.record_unit_work", meeting)
    if not meeting.topic:
        raise PartyError({"topic": _("请填写议题")})
    if not units:
        raise PartyError({"units": _("请选择参会单位")})
    foreign = [u.name for u in units if not u.communities.filter(pk=community.pk).exists()]
    if foreign:
        raise PartyError({"units": _("以下单位未与本社区共建：%(names)s") % {"names": "、".join(foreign)}})
    meeting.recorded_by = actor if getattr(actor, "is_authenticated", False) else None
    meeting.save()
    meeting.units.set(units)
    audit.record(
        AuditLog.Action.CREATE,
        meeting,
        actor=actor,
        after={"topic": meeting.topic, "units": [u.pk for u in units]},
    )
    return meeting
