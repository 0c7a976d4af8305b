"""Every write of self-governance: matters through their stages, supports and comments, the joint meeting's plan,
votes (electorate snapshot, online ballots, double-entered paper ballots, closing with the tally), milestones and
the published outcome of each stage (件件有回音), bodies and members, meetings with QR sign-in, minutes and
decisions, the owners' roll and charters.

Writes are atomic, checked by assembly/policy.py and by the transition tables in assembly/choices.py; rows are
locked with ``select_for_update`` ordered by pk; each step is appended to the matter's or vote's event table and
messages go out on commit through :func:`tongxin.core.notifications.notify`.
"""

from __future__ import annotations

import datetime as dt
import secrets
import typing
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.assembly import policy as rules
from tongxin.assembly import tally as tallying
from tongxin.assembly.choices import (
    MEETING_TRANSITIONS,
    STAGE_TRANSITIONS,
    VOTE_TRANSITIONS,
    BodyKind,
    Channel,
    CharterState,
    Choice,
    Electorate,
    MatterEventType,
    MeetingState,
    MemberRole,
    OwnersItem,
    PaperState,
    Party,
    Source,
    Stage,
    VoteState,
)
from tongxin.assembly.models import (
    Attendance,
    Ballot,
    Body,
    BodyMember,
    Charter,
    Comment,
    Decision,
    Elector,
    Matter,
    MatterEvent,
    Meeting,
    Milestone,
    Ownership,
    PaperEntry,
    Support,
    Vote,
    VoteEvent,
)
from tongxin.core import audit, policy
from tongxin.core.models import AuditLog
from tongxin.core.notifications import notify
from tongxin.people.choices import ResidentStatus
from tongxin.people.models import Resident
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Dwelling, Region
from tongxin.regions.policy import community_ids

PLACE_KINDS = (RegionKind.COMMUNITY, RegionKind.ESTATE, RegionKind.BUILDING, RegionKind.ENTRANCE)


class AssemblyError(ValidationError):
    pass


def _check(current: str, new: str, table: dict[str, frozenset[str]]) -> None:
    if new not in table.get(current, frozenset()):
        raise AssemblyError(_("不能从“%(a)s”变为“%(b)s”") % {"a": current, "b": new}, code="bad_transition")


def _lock(model: Any, pk: int) -> Any:
    return model.objects.select_for_update().get(pk=pk)


def _event(matter: Matter, type_: str, actor: Any, **payload: Any) -> MatterEvent:
    return MatterEvent.objects.create(
        matter=matter, type=type_, actor=MatterEvent.actor_of(actor), payload=payload
    )


def _vote_event(vote: Vote, type_: str, actor: Any, **payload: Any) -> None:
    VoteEvent.objects.create(vote=vote, type=type_, actor=VoteEvent.actor_of(actor), payload=payload)


def locate(place: Region) -> dict[str, int | None]:
    """The location ids of a place (community, estate, building or entrance)."""
    if place.kind not in PLACE_KINDS:
        raise AssemblyError({"place": _("范围应为社区、小区、楼栋或单元")}, code="bad_place")
    ids = place.place_ids()  # from the subdistrict down, whatever district and city sit above
    names = ["subdistrict_id", "community_id", "estate_id", "building_id", "entrance_id"]
    out: dict[str, int | None] = dict.fromkeys(names)
    for name, value in zip(names, ids, strict=False):
        out[name] = value
    return out


# ------------------------------------------------------------------------------------------------ audiences
def affected_users(matter: Matter | Vote) -> list[int]:
    """Accounts of the residents living in (or owning a part of) the matter's place: who hears each outcome."""
    loc = {k: v for k, v in locate(matter.place).items() if v and k != "subdistrict_id"}
    dwellings = Dwelling.objects.filter(**loc).values("pk")
    living = Resident.objects.filter(
        dwelling_id__in=dwellings, status=ResidentStatus.ACTIVE, user__isnull=False
    ).values_list("user_id", flat=True)
    owning = Ownership.objects.filter(
        dwelling_id__in=dwellings, ended_on__isnull=True, resident__user__isnull=False
    ).values_list("resident__user_id", flat=True)
    return sorted(set(living) | set(owning))


def _resident_link(matter: Matter) -> str:
    return reverse("assembly:mine_detail", args=[matter.pk])


def publish(matter: Matter, actor: Any, subject: str, body: str, *, stage: str = "") -> MatterEvent:
    """Tell the affected residents what a stage came to (件件有回音): an event on the matter's timeline and one
    message to each affected account (once per matter and stage)."""
    ev = _event(
        matter, MatterEventType.PUBLISHED, actor, subject=subject, body=body, stage=stage or matter.stage
    )
    users = affected_users(matter)
    if users:
        notify(
            users,
            subject,
            body,
            _resident_link(matter),
            kind="assembly_outcome",
            event=f"matter:{matter.pk}:published:{ev.pk}",
        )
    return ev


# ------------------------------------------------------------------------------------------------ matters
@transaction.atomic
def raise_matter(
    actor: Any,
    *,
    title: str,
    description: str,
    place: Region,
    source: str = "",
    owners_matter: bool = False,
    body: Body | None = None,
    deadline: dt.date | None = None,
    cases: Sequence[Any] = (),
) -> Matter:
    """A matter raised by a resident (for a place they live in), a committee member (their estate), a grid
    worker or community staff (a place in their communities), or from a recurring case pattern."""
    policy.require(actor, "assembly.propose")
    loc = locate(place)
    title, description = (title or "").strip(), (description or "").strip()
    errors = {}
    if not title:
        errors["title"] = _("请填写议题")
    if not description:
        errors["description"] = _("请说明情况")
    if deadline and deadline < timezone.localdate():
        errors["deadline"] = _("截止日期不能早于今天")
    if errors:
        raise AssemblyError(errors)
    probe = Matter(place=place, **loc)
    staff = policy.can(actor, "assembly.propose_for_community", probe)
    if not staff and not rules.is_affected(actor, probe):
        raise AssemblyError({"place": _("只能就本人居住的小区、楼栋或单元提出议题")}, code="not_affected")
    if not source:
        roles = policy.roles_of(actor)
        if body is not None and body.kind == BodyKind.OWNERS_COMMITTEE:
            source = Source.COMMITTEE
        elif body is not None:
            source = Source.COUNCIL
        elif cases:
            source = Source.CASES
        elif "grid_worker" in roles:
            source = Source.GRID_WORKER
        elif staff:
            source = Source.STAFF
        else:
            source = Source.RESIDENT
    matter = Matter.objects.create(
        title=title[:120],
        description=description,
        source=source,
        place=place,
        owners_matter=owners_matter,
        body=body,
        raised_by=actor,
        deadline=deadline or (timezone.localdate() + dt.timedelta(days=14)),
        **loc,
    )
    if cases:
        matter.cases.add(*cases)
    _event(matter, MatterEventType.RAISED, actor, source=source, cases=[c.pk for c in cases])
    audit.record(
        AuditLog.Action.CREATE, matter, actor=actor, after={"title": matter.title, "place": place.pk}
    )
    return matter


def recurring_patterns(user: Any, *, days: int = 90, at_least: int = 3) -> list[dict[str, Any]]:
    """Case patterns worth a matter: the same category in the same estate ``at_least`` times in ``days`` days,
    among cases not yet linked to a matter (one aggregate query)."""
    from tongxin.cases.models import Case

    since = timezone.now() - dt.timedelta(days=days)
    linked = Matter.cases.through.objects.values("case_id")
    qs = (
        Case.objects.filter(
            community_id__in=community_ids(user)
            if not user.is_superuser
            else list(Region.objects.values_list("pk", flat=True)),
            estate_id__isnull=False,
            submitted_at__gte=since,
        )
        .exclude(pk__in=linked)
        .values("estate_id", "estate__name", "category_id", "category__name")
        .annotate(n=Count("pk"))
        .filter(n__gte=at_least)
        .order_by("-n", "estate_id", "category_id")
    )
    return [dict(row) for row in qs[:20]]


@transaction.atomic
def matter_from_cases(actor: Any, *, estate: Region, category_id: int, days: int = 90) -> Matter:
    """Turn a recurring pattern into a matter for the estate, linked to its cases."""
    from tongxin.cases.models import Case

    if not policy.can(actor, "assembly.manage", Matter(community_id=estate.parent_id or 0, place=estate)):
        raise AssemblyError(_("该小区不在您的管辖范围内"), code="out_of_scope")
    since = timezone.now() - dt.timedelta(days=days)
    cases = list(
        Case.objects.filter(estate=estate, category_id=category_id, submitted_at__gte=since)
        .select_related("category")
        .order_by("pk")
    )
    if not cases:
        raise AssemblyError(_("没有可关联的诉求"), code="no_cases")
    name = cases[0].category.name if cases[0].category_id else ""
    return raise_matter(
        actor,
        title=_("%(estate)s：%(category)s反复发生") % {"estate": estate.name, "category": name},
        description=_("近%(d)d天内本小区同类诉求%(n)d件，提请居民议事、协商解决。")
        % {"d": days, "n": len(cases)},
        place=estate,
        source=Source.CASES,
        cases=cases,
    )


@transaction.atomic
def link_cases(actor: Any, matter: Matter, cases: Iterable[Any]) -> None:
    policy.require(actor, "assembly.manage", matter)
    cases = [c for c in cases if c.community_id == matter.community_id]
    matter.cases.add(*cases)
    _event(matter, MatterEventType.CASES_LINKED, actor, cases=[c.pk for c in cases])


@transaction.atomic
def support(actor: Any, matter: Matter) -> bool:
    """Support (附议) a matter in 议事; once per person. Returns False when the user had supported it already."""
    matter = _lock(Matter, matter.pk)
    policy.require(actor, "assembly.support", matter)
    if matter.deadline and matter.deadline < timezone.localdate():
        raise AssemblyError(_("意见征集已截止"), code="deadline")
    try:
        with transaction.atomic():
            Support.objects.create(matter=matter, user=actor)
    except IntegrityError:
        return False
    Matter.objects.filter(pk=matter.pk).update(supports=F("supports") + 1)
    _event(matter, MatterEventType.SUPPORTED, actor)
    return True


@transaction.atomic
def comment(actor: Any, matter: Matter, body: str) -> Comment:
    policy.require(actor, "assembly.comment", matter)
    body = (body or "").strip()
    if not body:
        raise AssemblyError({"body": _("请填写意见")})
    c = Comment.objects.create(matter=matter, user=actor, stage=matter.stage, body=body[:2000])
    _event(matter, MatterEventType.COMMENTED, actor, comment=c.pk)
    return c


STAGE_NEWS: dict[str, Any] = {
    Stage.COORDINATION: _("议题“%(t)s”意见征集结束，转入协调"),
    Stage.VOTING: _("议题“%(t)s”进入表决"),
    Stage.IMPLEMENTATION: _("议题“%(t)s”进入实施"),
    Stage.DONE: _("议题“%(t)s”已实施完毕"),
    Stage.REJECTED: _("议题“%(t)s”表决未通过"),
    Stage.WITHDRAWN: _("议题“%(t)s”已撤回"),
}


def _move(actor: Any, matter: Matter, to: str, note: str = "") -> Matter:
    _check(matter.stage, to, STAGE_TRANSITIONS)
    before = matter.stage
    matter.stage = to
    matter.save(update_fields=["stage", "updated_at"])
    _event(matter, MatterEventType.STAGE, actor, **{"from": before, "to": to, "note": note})
    publish(matter, actor, STAGE_NEWS[to] % {"t": matter.title}, note or "", stage=to)
    return matter


@transaction.atomic
def advance(actor: Any, matter: Matter, to: str, note: str = "") -> Matter:
    """Move a matter to stage ``to`` (the table in choices.py decides) and publish the outcome to its residents.
    Votes move matters to and out of 表决 (:func:`open_vote`, :func:`close_vote`)."""
    matter = _lock(Matter, matter.pk)
    policy.require(actor, "assembly.manage", matter)
    if to == Stage.VOTING or (matter.stage == Stage.VOTING and to in (Stage.IMPLEMENTATION, Stage.REJECTED)):
        raise AssemblyError(_("表决阶段由表决的发起和结束推进"), code="use_vote")
    if to == Stage.IMPLEMENTATION and not (matter.responsible or "").strip():
        raise AssemblyError({"responsible": _("转入实施前请在协调方案中明确责任单位")}, code="no_responsible")
    return _move(actor, matter, to, note)


@transaction.atomic
def set_plan(
    actor: Any,
    matter: Matter,
    *,
    where: str,
    what: str,
    who: str,
    how: str,
    carry_out: str,
    responsible: str = "",
    meeting: Meeting | None = None,
) -> Matter:
    """The joint meeting's five steps (五步工作法: 在哪议、议什么、谁来议、怎么议、如何实施) for a matter in 协调."""
    matter = _lock(Matter, matter.pk)
    policy.require(actor, "assembly.manage", matter)
    if matter.stage != Stage.COORDINATION:
        raise AssemblyError(_("只有协调阶段的议题可以制定方案"), code="bad_stage")
    steps = {
        "plan_where": where,
        "plan_what": what,
        "plan_who": who,
        "plan_how": how,
        "plan_carry_out": carry_out,
    }
    missing = {k: _("请填写") for k, v in steps.items() if not (v or "").strip()}
    if missing:
        raise AssemblyError(missing)
    for k, v in steps.items():
        setattr(matter, k, v.strip())
    matter.responsible = (responsible or matter.responsible).strip()[:100]
    matter.save(update_fields=[*steps, "responsible", "updated_at"])
    _event(matter, MatterEventType.PLAN, actor, meeting=meeting.pk if meeting else None, **steps)
    publish(
        matter,
        actor,
        _("议题“%(t)s”协调方案已确定") % {"t": matter.title},
        _("在哪议：%(w)s；如何实施：%(c)s") % {"w": matter.plan_where, "c": matter.plan_carry_out},
        stage=Stage.COORDINATION,
    )
    return matter


@transaction.atomic
def add_milestone(
    actor: Any,
    matter: Matter,
    *,
    title: str,
    progress: int,
    cost: Decimal | None = None,
    photo: Any = None,
) -> Milestone:
    """A step of the implementation: progress (never going back), a photo and the cost spent."""
    matter = _lock(Matter, matter.pk)
    policy.require(actor, "assembly.manage", matter)
    if matter.stage != Stage.IMPLEMENTATION:
        raise AssemblyError(_("只有实施阶段的议题可以记录进展"), code="bad_stage")
    if not (title or "").strip():
        raise AssemblyError({"title": _("请填写进展")})
    if not 0 <= progress <= 100 or progress < matter.progress:
        raise AssemblyError(
            {"progress": _("进度应在%(p)d%%到100%%之间") % {"p": matter.progress}}, code="bad_progress"
        )
    if cost is not None and cost < 0:
        raise AssemblyError({"cost": _("费用不能为负")})
    m = Milestone.objects.create(
        matter=matter, title=title.strip()[:200], progress=progress, cost=cost, recorded_by=actor
    )
    if photo:
        m.photo = photo
        m.save(update_fields=["photo"])
    matter.progress = progress
    if cost is not None:
        matter.cost = (matter.cost or Decimal("0")) + cost
    matter.save(update_fields=["progress", "cost", "updated_at"])
    _event(matter, MatterEventType.MILESTONE, actor, milestone=m.pk, progress=progress, title=m.title)
    return m


@transaction.atomic
def finish(actor: Any, matter: Matter, result: str) -> Matter:
    """Implementation done: the result is recorded and published to the residents."""
    matter = _lock(Matter, matter.pk)
    policy.require(actor, "assembly.manage", matter)
    if not (result or "").strip():
        raise AssemblyError({"result": _("请填写实施结果")})
    _check(matter.stage, Stage.DONE, STAGE_TRANSITIONS)
    matter.result = result.strip()
    matter.progress = 100
    matter.save(update_fields=["result", "progress", "updated_at"])
    return _move(actor, matter, Stage.DONE, matter.result)


# ------------------------------------------------------------------------------------------------ votes
def _owner_rows(vote: Vote) -> list[Elector]:
    loc = {k: v for k, v in locate(vote.place).items() if v and k != "subdistrict_id"}
    if not loc.get("estate_id"):
        raise AssemblyError({"place": _("业主表决的范围应为小区（或其中的楼栋、单元）")}, code="bad_place")
    rows = (
        Ownership.objects.filter(ended_on__isnull=True, **{f"dwelling__{k}": v for k, v in loc.items()})
        .select_related("dwelling__building", "dwelling__entrance")
        .order_by("dwelling_id")
    )
    out = []
    for o in rows:
        d = o.dwelling
        out.append(
            Elector(
                vote=vote,
                dwelling=d,
                resident_id=o.resident_id,
                person=o.owner_key,
                label=f"{d.building.name}{d.entrance.name}{d.number}",
                name=o.owner_name,
                area=o.area,
            )
        )
    return out


def _household_rows(vote: Vote) -> list[Elector]:
    loc = {k: v for k, v in locate(vote.place).items() if v and k != "subdistrict_id"}
    heads = dict(
        Resident.objects.filter(
            dwelling__in=Dwelling.objects.filter(**loc), status=ResidentStatus.ACTIVE, relation="head"
        ).values_list("dwelling_id", "pk")
    )
    names = dict(Resident.objects.filter(pk__in=heads.values()).values_list("pk", "name"))
    occupied = Dwelling.objects.filter(**loc, residents__status=ResidentStatus.ACTIVE).distinct()
    out = []
    for d in occupied.select_related("building", "entrance").order_by("pk"):
        head = heads.get(d.pk)
        out.append(
            Elector(
                vote=vote,
                dwelling=d,
                resident_id=head,
                person=f"d{d.pk}",
                label=f"{d.building.name}{d.entrance.name}{d.number}",
                name=names.get(head, "") if head else "",
            )
        )
    return out


def _representative_rows(vote: Vote) -> list[Elector]:
    if vote.body is None:
        raise AssemblyError({"body": _("居民代表表决请选择议事会或理事会")}, code="no_body")
    members = BodyMember.objects.filter(body=vote.body, ended_on__isnull=True).select_related("resident")
    return [
        Elector(
            vote=vote,
            resident=m.resident,
            person=f"r{m.resident_id}",
            label=m.get_role_display(),
            name=m.resident.name,
        )
        for m in members.order_by("pk")
    ]


@transaction.atomic
def open_vote(
    actor: Any,
    matter: Matter,
    *,
    title: str,
    electorate: str,
    closes_at: dt.datetime,
    owners_item: str = "",
    place: Region | None = None,
    body: Body | None = None,
    charter: Charter | None = None,
) -> Vote:
    """Open a vote on a matter in 协调 (the matter moves to 表决): the electorate is snapshotted now — the owners
    on the roll with their registered areas, the households living in the place, or a council's members."""
    matter = _lock(Matter, matter.pk)
    policy.require(actor, "assembly.manage", matter)
    if matter.stage != Stage.COORDINATION:
        raise AssemblyError(_("议题协调后方可发起表决"), code="bad_stage")
    if matter.owners_matter and electorate != Electorate.OWNERS:
        raise AssemblyError({"electorate": _("业主共同决定事项应由业主表决")}, code="owners_only")
    if electorate == Electorate.OWNERS and owners_item not in OwnersItem.values:
        raise AssemblyError({"owners_item": _("请选择民法典第二百七十八条所列事项")})
    if electorate != Electorate.OWNERS:
        owners_item = ""
    if closes_at <= timezone.now():
        raise AssemblyError({"closes_at": _("截止时间应晚于现在")})
    place = place or matter.place
    if not place.path.startswith(matter.place.path):
        raise AssemblyError({"place": _("表决范围应在议题涉及的范围之内")})
    vote = Vote(
        matter=matter,
        title=(title or matter.title).strip()[:200],
        electorate=electorate,
        owners_item=owners_item,
        body=body,
        place=place,
        community_id=matter.community_id,
        closes_at=closes_at,
        created_by=actor,
    )
    policy.require(actor, "assembly.manage_votes", vote)
    vote.save()
    maker = {
        Electorate.OWNERS: _owner_rows,
        Electorate.HOUSEHOLDS: _household_rows,
        Electorate.REPRESENTATIVES: _representative_rows,
    }[Electorate(electorate)]
    electors = maker(vote)
    if not electors:
        raise AssemblyError(_("该范围内没有表决人（请先登记业主或住户）"), code="no_electors")
    Elector.objects.bulk_create(electors, batch_size=2000)
    _check(vote.state, VoteState.OPEN, VOTE_TRANSITIONS)
    vote.state, vote.opens_at = VoteState.OPEN, timezone.now()
    vote.save(update_fields=["state", "opens_at"])
    if charter is not None:
        Charter.objects.filter(pk=charter.pk, state=CharterState.DRAFT).update(vote=vote)
    _vote_event(vote, "opened", actor, electors=len(electors))
    _invite(vote)
    _event(matter, MatterEventType.VOTE_OPENED, actor, vote=vote.pk, electorate=electorate, item=owners_item)
    _move(
        actor,
        matter,
        Stage.VOTING,
        _("表决截止：%(t)s") % {"t": f"{timezone.localtime(closes_at):%Y-%m-%d %H:%M}"},
    )
    return vote


def _invite(vote: Vote) -> None:
    """Ask the electors with an account to vote (owners and representatives: their own account; households: every
    member's account)."""
    users: set[int] = set(
        Elector.objects.filter(vote=vote, resident__user__isnull=False)
        .exclude(vote__electorate=Electorate.HOUSEHOLDS)
        .values_list("resident__user_id", flat=True)
    )
    if vote.electorate == Electorate.HOUSEHOLDS:
        users |= set(
            Resident.objects.filter(
                dwelling_id__in=Elector.objects.filter(vote=vote).values("dwelling_id"),
                status=ResidentStatus.ACTIVE,
                user__isnull=False,
            ).values_list("user_id", flat=True)
        )
    if users:
        notify(
            sorted(users),
            _("请参加表决：%(t)s") % {"t": vote.title},
            _("截止：%(t)s") % {"t": f"{timezone.localtime(vote.closes_at):%Y-%m-%d %H:%M}"},
            reverse("assembly:ballot", args=[vote.pk]),
            kind="assembly_vote",
            event=f"vote:{vote.pk}:opened",
        )


@transaction.atomic
def resolve_paper(actor: Any, vote: Vote, elector: Elector, choice: str) -> Ballot | None:
    """Review of a flagged paper ballot by a manager: a discrepancy is settled by counting ``choice`` (after
    looking at the paper); a conflict keeps the ballot already counted. The entries stay, marked as reviewed in
    the vote's event log."""
    vote = _lock(Vote, vote.pk)
    policy.require(actor, "assembly.manage_votes", vote)
    elector = Elector.objects.select_for_update().get(pk=elector.pk, vote=vote)
    flagged = PaperEntry.objects.filter(
        elector=elector, state__in=[PaperState.DISCREPANCY, PaperState.CONFLICT]
    )
    if not flagged.exists():
        raise AssemblyError(_("该表决单位没有待复核的纸质选票"), code="nothing_to_review")
    existing = Ballot.objects.filter(elector=elector).first()
    if existing is not None:
        _vote_event(vote, "paper_reviewed", actor, elector=elector.pk, kept=existing.channel)
        return existing
    if choice not in Choice.values:
        raise AssemblyError({"choice": _("请选择同意、反对或弃权")})
    ballot = Ballot.objects.create(
        vote=vote, elector=elector, choice=choice, channel=Channel.PAPER, cast_by=actor
    )
    _vote_event(vote, "paper_reviewed", actor, elector=elector.pk, choice=choice)
    return ballot


def electors_of(user: Any, vote: Vote) -> QuerySet[Elector]:
    return Elector.objects.filter(rules.elector_q(user), vote=vote).order_by("pk")


@transaction.atomic
def cast(actor: Any, vote: Vote, choice: str) -> list[Ballot]:
    """The signed-in elector votes online, for every unit he holds in this vote (an owner's three flats, his
    household); until the deadline he may change his vote. A unit already voted on paper is refused."""
    vote = _lock(Vote, vote.pk)
    policy.require(actor, "assembly.cast_ballot", vote)
    if choice not in Choice.values:
        raise AssemblyError({"choice": _("请选择同意、反对或弃权")})
    ids = list(electors_of(actor, vote).values_list("pk", flat=True))
    electors = list(Elector.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if not electors:
        raise AssemblyError(_("您不是本次表决的表决人"), code="not_elector")
    ballots = {b.elector_id: b for b in Ballot.objects.select_for_update().filter(elector__in=electors)}
    paper = [e for e in electors if e.pk in ballots and ballots[e.pk].channel == Channel.PAPER]
    if paper or PaperEntry.objects.filter(elector__in=electors).exists():
        raise AssemblyError(_("您的选票已通过纸质方式提交，不能再线上投票"), code="already_voted")
    out = []
    now = timezone.now()
    for e in electors:
        b = ballots.get(e.pk)
        if b is None:
            b = Ballot.objects.create(
                vote=vote, elector=e, choice=choice, channel=Channel.ONLINE, cast_by=actor
            )
            _vote_event(vote, "cast", actor, elector=e.pk, choice=choice)
        elif b.choice != choice:
            _vote_event(vote, "changed", actor, elector=e.pk, before=b.choice, choice=choice)
            b.choice, b.at, b.changes = choice, now, b.changes + 1
            b.save(update_fields=["choice", "at", "changes"])
        out.append(b)
    return out


@transaction.atomic
def enter_paper(actor: Any, vote: Vote, elector: Elector, choice: str) -> PaperEntry:
    """One staff member's entry of a paper ballot. The second entry by another person counts the ballot when the
    two agree and flags both when they differ. A paper ballot for a unit already voted online (or counted on paper)
    is refused — not counted — and kept, with the online ballot, for review (state ``conflict``)."""
    vote = _lock(Vote, vote.pk)
    policy.require(actor, "assembly.enter_paper", vote)
    elector = Elector.objects.select_for_update().get(pk=elector.pk, vote=vote)
    if choice not in Choice.values:
        raise AssemblyError({"choice": _("请选择同意、反对或弃权")})
    if PaperEntry.objects.filter(elector=elector, entered_by=actor).exists():
        raise AssemblyError(_("您已录入过这张选票，请由另一位工作人员再次录入"), code="same_clerk")
    existing = Ballot.objects.filter(elector=elector).first()
    if existing is not None:
        entry = PaperEntry.objects.create(
            vote=vote, elector=elector, choice=choice, entered_by=actor, state=PaperState.CONFLICT
        )
        _vote_event(vote, "paper_conflict", actor, elector=elector.pk, choice=choice, ballot=existing.channel)
        return entry
    pending = list(
        PaperEntry.objects.select_for_update()
        .filter(elector=elector, state=PaperState.PENDING)
        .order_by("pk")
    )
    entry = PaperEntry.objects.create(vote=vote, elector=elector, choice=choice, entered_by=actor)
    if not pending:
        _vote_event(vote, "paper_first", actor, elector=elector.pk)
        return entry
    first = pending[0]
    if first.choice == choice:
        PaperEntry.objects.filter(pk__in=[first.pk, entry.pk]).update(state=PaperState.MATCHED)
        Ballot.objects.create(vote=vote, elector=elector, choice=choice, channel=Channel.PAPER, cast_by=actor)
        _vote_event(vote, "paper_counted", actor, elector=elector.pk, choice=choice)
        entry.state = PaperState.MATCHED
    else:
        PaperEntry.objects.filter(pk__in=[first.pk, entry.pk]).update(state=PaperState.DISCREPANCY)
        _vote_event(vote, "paper_discrepancy", actor, elector=elector.pk, first=first.choice, second=choice)
        entry.state = PaperState.DISCREPANCY
    return entry


def tally(vote: Vote) -> tallying.Tally:
    """The tally of a vote from its electors and ballots: one query, then exact arithmetic (tally.py)."""
    rows = Elector.objects.filter(vote_id=vote.pk).values_list("person", "area", "ballot__choice")
    return tallying.count(rows.iterator(chunk_size=5000), vote.electorate, vote.owners_item)


def recount(vote: Vote) -> dict[str, Any]:
    """An independent count by the database (GROUP BY), to check the tally: areas by choice, units by choice and
    the numbers of persons in the electorate and among the participants."""
    electors = Elector.objects.filter(vote_id=vote.pk)
    by_choice = {
        row["choice"]: (row["area"] or Decimal("0"), row["n"])
        for row in Ballot.objects.filter(vote_id=vote.pk)
        .values("choice")
        .annotate(area=Sum("elector__area"), n=Count("pk"))
    }
    return {
        "total_area": electors.aggregate(a=Sum("area"))["a"] or Decimal("0"),
        "total_heads": electors.values("person").distinct().count(),
        "participating_heads": electors.filter(ballot__isnull=False).values("person").distinct().count(),
        "area": {c: by_choice.get(c, (Decimal("0"), 0))[0] for c in Choice.values},
        "ballots": {c: by_choice.get(c, (Decimal("0"), 0))[1] for c in Choice.values},
    }


@transaction.atomic
def close_vote(actor: Any, vote: Vote, *, now: dt.datetime | None = None) -> Vote:
    """Close a vote: tally it, keep the result sheet, move the matter on (passed: 实施, else 未通过), adopt the
    charter it decided and publish the result to the residents."""
    vote = _lock(Vote, vote.pk)
    policy.require(actor, "assembly.manage_votes", vote)
    _check(vote.state, VoteState.CLOSED, VOTE_TRANSITIONS)
    t = tally(vote)
    vote.state, vote.passed, vote.result = VoteState.CLOSED, t.passed, t.as_dict()
    vote.save(update_fields=["state", "passed", "result"])
    _vote_event(vote, "closed", actor, passed=t.passed)
    matter = _lock(Matter, vote.matter_id)
    _event(matter, MatterEventType.VOTE_CLOSED, actor, vote=vote.pk, passed=t.passed)
    if t.passed:
        for charter in Charter.objects.select_for_update().filter(vote=vote, state=CharterState.DRAFT):
            Charter.objects.filter(estate_id=charter.estate_id, state=CharterState.ADOPTED).update(
                state=CharterState.SUPERSEDED
            )
            charter.state, charter.adopted_on = CharterState.ADOPTED, timezone.localdate()
            charter.save(update_fields=["state", "adopted_on"])
    summary = _("同意%(a)s票（面积%(aa)s㎡），参与表决%(p)d人；%(r)s") % {
        "a": t.heads[Choice.AGREE],
        "aa": t.area[Choice.AGREE],
        "p": t.participating_heads,
        "r": _("通过") if t.passed else _("未通过"),
    }
    if matter.stage == Stage.VOTING:
        _move(actor, matter, Stage.IMPLEMENTATION if t.passed else Stage.REJECTED, summary)
    return vote


def close_due_votes(now: dt.datetime | None = None) -> int:
    """The sweep: close every open vote past its deadline (idempotent)."""
    now = now or timezone.now()
    n = 0
    for vote in Vote.objects.filter(state=VoteState.OPEN, closes_at__lte=now).order_by("pk"):
        _close_as_system(vote)
        n += 1
    return n


@transaction.atomic
def _close_as_system(vote: Vote) -> None:
    vote = _lock(Vote, vote.pk)
    if vote.state != VoteState.OPEN:
        return
    t = tally(vote)
    vote.state, vote.passed, vote.result = VoteState.CLOSED, t.passed, t.as_dict()
    vote.save(update_fields=["state", "passed", "result"])
    _vote_event(vote, "closed", None, passed=t.passed)
    matter = _lock(Matter, vote.matter_id)
    if matter.stage == Stage.VOTING:
        _move(None, matter, Stage.IMPLEMENTATION if t.passed else Stage.REJECTED, "")


# ------------------------------------------------------------------------------------------------ owners' roll
def dwelling_at(actor: Any, address: str) -> Dwelling:
    """The dwelling an address names (e.g. 锦绣江山3栋2单元501) among the estates of the communities the actor
    works in; a clear error says which part of the address was not found."""
    from tongxin.regions.address import resolve_address

    text = (address or "").strip()
    if not text:
        raise AssemblyError({"address": _("请填写房屋地址，如 锦绣江山3栋2单元501")})
    estates = Region.objects.filter(kind=RegionKind.ESTATE)
    if not getattr(actor, "is_superuser", False):
        estates = estates.filter(parent_id__in=community_ids(actor))
    found = resolve_address(text, estates)
    estate = typing.cast(Region | None, found.estate)
    if estate is None:
        raise AssemblyError({"address": _("“%(a)s”中没有您管辖的小区") % {"a": text}})
    if found.building is None:
        raise AssemblyError({"address": _("%(e)s 没有这个楼栋：%(a)s") % {"e": estate.name, "a": text}})
    if found.dwelling is None:
        raise AssemblyError({"address": _("没有找到这套房屋（请写到单元和房号）：%(a)s") % {"a": text}})
    return typing.cast(Dwelling, found.dwelling)


def resident_at(dwelling: Dwelling, name: str) -> Resident:
    """The resident of that name living in the dwelling (the way staff find a person: name and address)."""
    name = (name or "").strip()
    matches = list(Resident.objects.filter(dwelling=dwelling, name=name)[:2])
    if not matches:
        raise AssemblyError(
            {"name": _("%(d)s 没有登记名为“%(n)s”的居民") % {"d": dwelling.address, "n": name}}
        )
    if len(matches) > 1:
        raise AssemblyError(
            {"name": _("%(d)s 有两位“%(n)s”，请在居民档案中核对") % {"d": dwelling.address, "n": name}}
        )
    return matches[0]


@transaction.atomic
def register_owner(
    actor: Any,
    dwelling: Dwelling,
    *,
    resident: Resident | None = None,
    owner_name: str = "",
    developer: bool = False,
    area: Decimal | None = None,
) -> Ownership:
    """Record who owns an exclusive part (ending the previous owner's record). Area defaults to the dwelling's
    registered floor area."""
    policy.require(
        actor,
        "assembly.manage_owners",
        Ownership(dwelling=dwelling, estate_id=dwelling.estate_id),
        message=_("该房屋不在您的管辖范围内"),
    )
    area = area if area is not None else dwelling.floor_area
    if not area or area <= 0:
        raise AssemblyError({"area": _("请填写登记面积")})
    name = owner_name or (resident.name if resident else "") or (_("开发商") if developer else "")
    if not name:
        raise AssemblyError({"owner_name": _("请填写业主")})
    Ownership.objects.select_for_update().filter(dwelling=dwelling, ended_on__isnull=True).update(
        ended_on=timezone.localdate()
    )
    o = Ownership.objects.create(
        dwelling=dwelling,
        estate_id=dwelling.estate_id,
        resident=resident,
        owner_name=name[:100],
        developer=developer,
        area=area,
    )
    audit.record(AuditLog.Action.CREATE, o, actor=actor, after={"dwelling": dwelling.pk, "area": str(area)})
    return o


# ------------------------------------------------------------------------------------------------ bodies
@transaction.atomic
def create_body(
    actor: Any,
    *,
    kind: str,
    name: str,
    community: Region,
    estate: Region | None = None,
    remit: str = "",
    term_start: dt.date | None = None,
    term_end: dt.date | None = None,
    registered_on: dt.date | None = None,
) -> Body:
    body = Body(
        kind=kind,
        name=(name or "").strip()[:100],
        community=community,
        estate=estate,
        remit=remit,
        term_start=term_start,
        term_end=term_end,
        registered_on=registered_on,
    )
    policy.require(actor, "assembly.manage_bodies", body)
    if not body.name:
        raise AssemblyError({"name": _("请填写名称")})
    if kind == BodyKind.OWNERS_COMMITTEE and estate is None:
        raise AssemblyError({"estate": _("业委会应属于一个小区")})
    if estate is not None and estate.parent_id != community.pk:
        raise AssemblyError({"estate": _("小区不属于该社区")})
    if term_start and term_end and term_end <= term_start:
        raise AssemblyError({"term_end": _("任期结束应晚于开始")})
    body.save()
    audit.record(AuditLog.Action.CREATE, body, actor=actor, after={"name": body.name, "kind": kind})
    return body


@transaction.atomic
def add_member(actor: Any, body: Body, resident: Resident, role: str = MemberRole.MEMBER) -> BodyMember:
    policy.require(actor, "assembly.manage_bodies", body)
    if resident.dwelling is None or resident.dwelling.community_id != body.community_id:
        raise AssemblyError({"resident": _("成员应为本社区居民")}, code="not_resident")
    if BodyMember.objects.filter(body=body, resident=resident, ended_on__isnull=True).exists():
        raise AssemblyError({"resident": _("该居民已是成员")}, code="duplicate")
    m = BodyMember.objects.create(body=body, resident=resident, role=role)
    audit.record(AuditLog.Action.CREATE, m, actor=actor, after={"body": body.pk, "resident": resident.pk})
    return m


@transaction.atomic
def end_member(actor: Any, member: BodyMember) -> None:
    policy.require(actor, "assembly.manage_bodies", member.body)
    BodyMember.objects.filter(pk=member.pk, ended_on__isnull=True).update(ended_on=timezone.localdate())


def party_member_ids(resident_ids: Iterable[int]) -> set[int]:
    """Which of these residents are active party members (红色业委会: how many members are in the party)."""
    from tongxin.party.models import PartyMember

    return set(
        PartyMember.objects.filter(resident_id__in=list(resident_ids), active=True).values_list(
            "resident_id", flat=True
        )
    )


@transaction.atomic
def draft_charter(actor: Any, estate: Region, *, title: str, text: str) -> Charter:
    """A new version of the estate's charter, a draft until the vote on it passes."""
    probe = Body(community_id=estate.parent_id or 0)
    policy.require(actor, "assembly.manage_bodies", probe)
    if not (text or "").strip():
        raise AssemblyError({"text": _("请填写公约条文")})
    last = Charter.objects.select_for_update().filter(estate=estate).order_by("-version").first()
    return Charter.objects.create(
        estate=estate,
        community_id=estate.parent_id or 0,
        version=(last.version + 1) if last else 1,
        title=(title or _("小区自治公约")).strip()[:120],
        text=text.strip(),
    )


# ------------------------------------------------------------------------------------------------ meetings
@transaction.atomic
def convene(
    actor: Any,
    *,
    kind: str,
    title: str,
    community: Region,
    starts_at: dt.datetime,
    location: str,
    estate: Region | None = None,
    body: Body | None = None,
    agenda: Sequence[Matter] = (),
) -> Meeting:
    """Call a meeting (四方联席会议, 七点半议事厅 …) with matters on its agenda; it gets a QR sign-in code."""
    meeting = Meeting(
        kind=kind,
        title=(title or "").strip()[:120],
        community=community,
        estate=estate,
        body=body,
        starts_at=starts_at,
        location=(location or "").strip()[:100],
        convened_by=actor,
        checkin_code=secrets.token_urlsafe(9)[:12],
    )
    policy.require(actor, "assembly.manage_meetings", meeting)
    errors = {}
    if not meeting.title:
        errors["title"] = _("请填写会议名称")
    if not meeting.location:
        errors["location"] = _("请填写地点")
    if errors:
        raise AssemblyError(errors)
    if any(m.community_id != community.pk for m in agenda):
        raise AssemblyError({"agenda": _("议程中的议题应属于本社区")})
    meeting.save()
    meeting.agenda.add(*agenda)
    audit.record(AuditLog.Action.CREATE, meeting, actor=actor, after={"title": meeting.title, "kind": kind})
    return meeting


def _party_of(user: Any, meeting: Meeting) -> str:
    roles = policy.roles_of(user)
    if "property_staff" in roles:
        return Party.PROPERTY
    if "community_staff" in roles or "subdistrict_admin" in roles:
        return Party.RESIDENTS_COMMITTEE
    if rules.COMMITTEE_MEMBER in roles:
        return Party.OWNERS_COMMITTEE
    if "party_member" in roles:
        return Party.PARTY_ORG
    return Party.RESIDENT


@transaction.atomic
def check_in(user: Any, code: str) -> Attendance:
    """Sign in to a meeting by scanning its QR code (once per person)."""
    meeting = Meeting.objects.select_for_update().filter(checkin_code=code).first()
    if meeting is None:
        raise AssemblyError(_("签到码无效"), code="bad_code")
    policy.require(user, "assembly.check_in", meeting)
    found = Attendance.objects.filter(meeting=meeting, user=user).first()
    if found is not None:
        return found
    name = getattr(getattr(user, "resident", None), "name", "") or str(user)
    return Attendance.objects.create(
        meeting=meeting, user=user, name=name[:50], party=_party_of(user, meeting), by_qr=True
    )


@transaction.atomic
def record_attendance(actor: Any, meeting: Meeting, *, name: str, party: str) -> Attendance:
    policy.require(actor, "assembly.manage_meetings", meeting)
    if not (name or "").strip():
        raise AssemblyError({"name": _("请填写姓名")})
    if party not in Party.values:
        raise AssemblyError({"party": _("请选择代表方")})
    return Attendance.objects.create(meeting=meeting, name=name.strip()[:50], party=party)


@transaction.atomic
def record_minutes(
    actor: Any, meeting: Meeting, *, minutes: str, decisions: Sequence[tuple[Matter | None, str]] = ()
) -> Meeting:
    """The meeting was held: its minutes and decisions, each decision linked back to its matter's timeline."""
    meeting = _lock(Meeting, meeting.pk)
    policy.require(actor, "assembly.manage_meetings", meeting)
    if not (minutes or "").strip():
        raise AssemblyError({"minutes": _("请填写会议纪要")})
    if meeting.state == MeetingState.PLANNED:
        _check(meeting.state, MeetingState.HELD, MEETING_TRANSITIONS)
        meeting.state = MeetingState.HELD
    meeting.minutes = minutes.strip()
    meeting.save(update_fields=["state", "minutes"])
    for matter, text in decisions:
        if not (text or "").strip():
            continue
        if matter is not None and matter.community_id != meeting.community_id:
            raise AssemblyError({"decisions": _("决定所涉议题应属于本社区")})
        d = Decision.objects.create(meeting=meeting, matter=matter, text=text.strip())
        if matter is not None:
            _event(matter, MatterEventType.PLAN, actor, meeting=meeting.pk, decision=d.pk, text=d.text)
    return meeting


@transaction.atomic
def cancel_meeting(actor: Any, meeting: Meeting) -> Meeting:
    meeting = _lock(Meeting, meeting.pk)
    policy.require(actor, "assembly.manage_meetings", meeting)
    _check(meeting.state, MeetingState.CANCELLED, MEETING_TRANSITIONS)
    meeting.state = MeetingState.CANCELLED
    meeting.save(update_fields=["state"])
    return meeting


def attendance_by_party(meeting: Meeting) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for party, n in meeting.attendance.values_list("party").annotate(n=Count("pk")):
        counts[party] = n
    return dict(counts)


def matters_for(user: Any) -> QuerySet[Matter]:
    """Matters a resident can follow on the phone: those of the places he lives in or owns a part of."""
    return policy.restrict(Matter.objects.all(), user, "assembly.view_as_resident").filter(
        ~Q(stage=Stage.WITHDRAWN)
    )
