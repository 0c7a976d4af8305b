"""Self-governance pages: the staff workbench (desktop: matters, votes, bodies, meetings) and the resident's phone
pages (matters of my places, support and comment, my votes, meeting sign-in). Thin: parse, ask the policy, call a
service, render."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.assembly import exports, services
from tongxin.assembly.choices import (
    OPEN_STAGES,
    STAGE_ORDER,
    STAGE_TRANSITIONS,
    Choice,
    MatterEventType,
    PaperState,
    Party,
    Stage,
    VoteState,
)
from tongxin.assembly.forms import (
    BodyForm,
    MatterForm,
    MeetingForm,
    MemberForm,
    OwnerForm,
    PlanForm,
    VoteForm,
)
from tongxin.assembly.models import (
    Ballot,
    Body,
    BodyMember,
    Charter,
    Elector,
    Matter,
    Meeting,
    Ownership,
    PaperEntry,
    Vote,
)
from tongxin.core import policy
from tongxin.core.exports import attachment
from tongxin.regions.models import Region
from tongxin.regions.policy import community_ids

app_name = "assembly"
PAGE = 30


def _error(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(str(m) for m in exc.messages))


def _stages(matter: Matter) -> list[dict[str, Any]]:
    order = [str(s) for s in STAGE_ORDER]
    at = order.index(matter.stage) if matter.stage in order else -1
    return [
        {"label": Stage(s).label, "done": i < at or matter.stage == Stage.DONE, "current": s == matter.stage}
        for i, s in enumerate(order)
    ]


# ------------------------------------------------------------------------------------------------ staff: matters
@policy.page("assembly.list")
def home(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Matter.objects.all(), request.user, "assembly.list").select_related("place")
    stage = request.GET.get("stage", "")
    if stage in Stage.values:
        qs = qs.filter(stage=stage)
    page = Paginator(qs.order_by("-created_at", "-pk"), PAGE).get_page(request.GET.get("page"))
    may_manage = policy.can(request.user, "assembly.manage")
    return render(
        request,
        "assembly/home.html",
        {
            "page": page,
            "stage": stage,
            "stages": Stage.choices,
            "patterns": services.recurring_patterns(request.user) if may_manage else [],
        },
    )


@policy.page("assembly.propose")
def create(request: HttpRequest) -> HttpResponse:
    phone = request.resolver_match is not None and request.resolver_match.url_name == "mine_create"
    form = MatterForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            matter = services.raise_matter(
                request.user,
                title=d["title"],
                description=d["description"],
                place=d["place"],
                owners_matter=d["owners_matter"],
                deadline=d["deadline"],
            )
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("议题已提出，进入议事阶段"))
            if phone or not policy.can(request.user, "assembly.view", matter):
                return redirect("assembly:mine_detail", pk=matter.pk)
            return redirect("assembly:detail", pk=matter.pk)
    return render(request, "assembly/matter_form.html", {"form": form, "phone": phone})


@require_POST
@policy.page("assembly.manage")
def from_cases(request: HttpRequest) -> HttpResponse:
    try:
        estate = Region.objects.get(pk=int(request.POST.get("estate", "0")), kind="estate")
        matter = services.matter_from_cases(
            request.user, estate=estate, category_id=int(request.POST.get("category", "0"))
        )
    except (Region.DoesNotExist, ValueError):
        messages.error(request, _("请选择多发诉求"))
        return redirect("assembly:home")
    except ValidationError as exc:
        _error(request, exc)
        return redirect("assembly:home")
    messages.success(request, _("已由多发诉求生成议题"))
    return redirect("assembly:detail", pk=matter.pk)


@policy.page("assembly.view", model="assembly.Matter")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    matter = policy.get_or_deny(
        Matter.objects.select_related("place", "raised_by", "body"), request.user, "assembly.view", pk=pk
    )
    ctx: dict[str, Any] = {
        "matter": matter,
        "stages": _stages(matter),
        "next_stages": [
            (s, Stage(s).label)
            for s in STAGE_TRANSITIONS.get(matter.stage, frozenset())
            if s not in (Stage.VOTING, Stage.DONE) and matter.stage != Stage.VOTING
        ],
        "comments": matter.comments.select_related("user").order_by("-at")[:50],
        "events": matter.events.select_related("actor").order_by("-at", "-pk")[:60],
        "milestones": matter.milestones.all(),
        "votes": matter.votes.order_by("-pk"),
        "meetings": matter.meetings.order_by("-starts_at"),
        "decisions": matter.decisions.select_related("meeting"),
        "cases": matter.cases.order_by("-pk")[:20],
        "plan_form": PlanForm(
            initial={
                "where": matter.plan_where,
                "what": matter.plan_what or matter.description,
                "who": matter.plan_who,
                "how": matter.plan_how,
                "carry_out": matter.plan_carry_out,
                "responsible": matter.responsible,
            }
        ),
        "vote_form": VoteForm(matter=matter) if matter.stage == Stage.COORDINATION else None,
    }
    return render(request, "assembly/detail.html", ctx)


def _manage(request: HttpRequest, pk: int) -> Matter:
    return policy.get_or_deny(Matter.objects.all(), request.user, "assembly.manage", pk=pk)


@require_POST
@policy.page("assembly.manage", model="assembly.Matter")
def advance(request: HttpRequest, pk: int) -> HttpResponse:
    matter = _manage(request, pk)
    try:
        services.advance(request.user, matter, request.POST.get("to", ""), request.POST.get("note", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("议题已推进，结果已公示给相关居民"))
    return redirect("assembly:detail", pk=pk)


@require_POST
@policy.page("assembly.manage", model="assembly.Matter")
def plan(request: HttpRequest, pk: int) -> HttpResponse:
    matter = _manage(request, pk)
    form = PlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请完整填写五步方案"))
        return redirect("assembly:detail", pk=pk)
    try:
        services.set_plan(request.user, matter, **form.cleaned_data)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("协调方案已保存并公示"))
    return redirect("assembly:detail", pk=pk)


@require_POST
@policy.page("assembly.manage", model="assembly.Matter")
def open_vote(request: HttpRequest, pk: int) -> HttpResponse:
    matter = _manage(request, pk)
    form = VoteForm(request.POST, matter=matter)
    if not form.is_valid():
        messages.error(
            request,
            " ".join(
                f"{form.fields[k].label}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()
            ),
        )
        return redirect("assembly:detail", pk=pk)
    d = form.cleaned_data
    try:
        vote = services.open_vote(
            request.user,
            matter,
            title=d["title"],
            electorate=d["electorate"],
            owners_item=d["owners_item"],
            place=d["place"],
            body=d["body"],
            closes_at=d["closes_at"],
            charter=d["charter"],
        )
    except ValidationError as exc:
        _error(request, exc)
        return redirect("assembly:detail", pk=pk)
    messages.success(request, _("表决已发起"))
    return redirect("assembly:vote", pk=vote.pk)


@require_POST
@policy.page("assembly.manage", model="assembly.Matter")
def milestone(request: HttpRequest, pk: int) -> HttpResponse:
    matter = _manage(request, pk)
    try:
        progress = int(request.POST.get("progress", ""))
        cost = request.POST.get("cost") or None
        services.add_milestone(
            request.user,
            matter,
            title=request.POST.get("title", ""),
            progress=progress,
            cost=Decimal(cost) if cost else None,
            photo=request.FILES.get("photo"),
        )
    except (ValueError, ArithmeticError):
        messages.error(request, _("请填写进度（0–100）和费用"))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("进展已记录"))
    return redirect("assembly:detail", pk=pk)


@require_POST
@policy.page("assembly.manage", model="assembly.Matter")
def finish(request: HttpRequest, pk: int) -> HttpResponse:
    matter = _manage(request, pk)
    try:
        services.finish(request.user, matter, request.POST.get("result", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("实施结果已公示"))
    return redirect("assembly:detail", pk=pk)


# ------------------------------------------------------------------------------------------------ staff: votes
@policy.page("assembly.view_votes", model="assembly.Vote")
def vote(request: HttpRequest, pk: int) -> HttpResponse:
    v = policy.get_or_deny(
        Vote.objects.select_related("matter", "place"), request.user, "assembly.view_votes", pk=pk
    )
    sheet = v.result if v.state == VoteState.CLOSED else services.tally(v).as_dict()
    electors = Elector.objects.filter(vote=v).select_related("ballot").order_by("pk")
    q = request.GET.get("q", "").strip()
    if q:
        electors = electors.filter(label__contains=q) | electors.filter(name__startswith=q)
    page = Paginator(electors, 50).get_page(request.GET.get("page"))
    flagged = (
        PaperEntry.objects.filter(vote=v, state__in=[PaperState.DISCREPANCY, PaperState.CONFLICT])
        .select_related("elector", "entered_by", "elector__ballot")
        .order_by("elector_id", "pk")
    )
    return render(
        request,
        "assembly/vote.html",
        {
            "vote": v,
            "sheet": sheet,
            "page": page,
            "q": q,
            "flagged": flagged,
            "choices": Choice.choices,
        },
    )


@require_POST
@policy.page("assembly.manage_votes", model="assembly.Vote")
def vote_close(request: HttpRequest, pk: int) -> HttpResponse:
    v = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.manage_votes", pk=pk)
    try:
        services.close_vote(request.user, v)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("表决已结束，结果已公示"))
    return redirect("assembly:vote", pk=pk)


@require_POST
@policy.page("assembly.enter_paper", model="assembly.Vote")
def vote_paper(request: HttpRequest, pk: int) -> HttpResponse:
    v = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.enter_paper", pk=pk)
    elector = Elector.objects.filter(vote=v, pk=request.POST.get("elector") or 0).first()
    if elector is None:
        messages.error(request, _("请选择表决单位"))
        return redirect("assembly:vote", pk=pk)
    try:
        entry = services.enter_paper(request.user, v, elector, request.POST.get("choice", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        text = {
            PaperState.PENDING: _("已录入，待另一位工作人员再次录入"),
            PaperState.MATCHED: _("两次录入一致，已计票"),
            PaperState.DISCREPANCY: _("两次录入不一致，已标记待复核"),
            PaperState.CONFLICT: _("该业主已投票，纸质选票不计票，已保留待复核"),
        }[PaperState(entry.state)]
        (messages.success if entry.state in (PaperState.PENDING, PaperState.MATCHED) else messages.error)(
            request, text
        )
    return redirect(reverse("assembly:vote", args=[pk]) + f"?q={elector.label}")


@require_POST
@policy.page("assembly.manage_votes", model="assembly.Vote")
def vote_review(request: HttpRequest, pk: int) -> HttpResponse:
    v = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.manage_votes", pk=pk)
    elector = Elector.objects.filter(vote=v, pk=request.POST.get("elector") or 0).first()
    try:
        if elector is None:
            raise services.AssemblyError(_("请选择表决单位"))
        services.resolve_paper(request.user, v, elector, request.POST.get("choice", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已复核"))
    return redirect("assembly:vote", pk=pk)


@policy.page("assembly.export_votes", model="assembly.Vote")
def vote_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    v = policy.get_or_deny(
        Vote.objects.select_related("matter"), request.user, "assembly.export_votes", pk=pk
    )
    response = HttpResponse(
        exports.xlsx(v), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = attachment(f"{v.title[:40]}-计票结果.xlsx")
    return response


@policy.page("assembly.export_votes", model="assembly.Vote")
def vote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    v = policy.get_or_deny(
        Vote.objects.select_related("matter"), request.user, "assembly.export_votes", pk=pk
    )
    response = HttpResponse(exports.pdf(v), content_type="application/pdf")
    response["Content-Disposition"] = attachment(f"{v.title[:40]}-计票结果.pdf")
    return response


# ------------------------------------------------------------------------------------------------ staff: bodies
@policy.page("assembly.view_bodies")
def bodies(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Body.objects.all(), request.user, "assembly.view_bodies").select_related("estate")
    qs = qs.prefetch_related(
        Prefetch("members", BodyMember.objects.filter(ended_on__isnull=True).select_related("resident"))
    )
    rows = list(qs.order_by("community_id", "kind", "name")[:200])
    party = services.party_member_ids(m.resident_id for b in rows for m in b.members.all())
    for b in rows:
        n = sum(1 for m in b.members.all() if m.resident_id in party)
        b.party_count = n  # type: ignore[attr-defined]
    charters = policy.restrict(Charter.objects.all(), request.user, "assembly.view_bodies").select_related(
        "estate", "vote"
    )
    return render(
        request,
        "assembly/bodies.html",
        {"bodies": rows, "party": party, "charters": charters.order_by("-pk")[:20]},
    )


@policy.page("assembly.view_bodies", model="assembly.Body")
def body(request: HttpRequest, pk: int) -> HttpResponse:
    b = policy.get_or_deny(
        Body.objects.select_related("estate", "community"), request.user, "assembly.view_bodies", pk=pk
    )
    form = MemberForm(request.POST or None)
    if request.method == "POST":
        b = policy.get_or_deny(Body.objects.all(), request.user, "assembly.manage_bodies", pk=pk)
        if form.is_valid():
            d = form.cleaned_data
            try:
                resident = services.resident_at(services.dwelling_at(request.user, d["address"]), d["name"])
                services.add_member(request.user, b, resident, d["role"])
            except ValidationError as exc:
                _error(request, exc)
            else:
                messages.success(request, _("成员已添加"))
                return redirect("assembly:body", pk=pk)
    members = list(b.members.filter(ended_on__isnull=True).select_related("resident__dwelling"))
    party = services.party_member_ids(m.resident_id for m in members)
    return render(
        request,
        "assembly/body.html",
        {
            "body": b,
            "members": members,
            "party": party,
            "matters": b.matters.order_by("-pk")[:20],
            "form": form,
        },
    )


@policy.page("assembly.manage_bodies")
def body_create(request: HttpRequest) -> HttpResponse:
    form = BodyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            b = services.create_body(
                request.user,
                kind=d["kind"],
                name=d["name"],
                community=d["community"],
                estate=d["estate"],
                remit=d["remit"],
                term_start=d["term_start"],
                term_end=d["term_end"],
                registered_on=d["registered_on"],
            )
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("已登记，请添加成员"))
            return redirect("assembly:body", pk=b.pk)
    return render(request, "assembly/body_form.html", {"form": form})


# ------------------------------------------------------------------------------------------------ staff: owners
@policy.page("assembly.view_owners")
def owners(request: HttpRequest) -> HttpResponse:
    """The owners' roll of the estates the user works in, with the figures a Civil Code vote is counted on
    (parts, owners by headcount rules are the tally's; here: parts and registered area)."""
    form = OwnerForm(request.POST or None)
    if request.method == "POST" and not policy.can(request.user, "assembly.manage_owners"):
        raise Http404
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            dwelling = services.dwelling_at(request.user, d["address"])
            resident = services.resident_at(dwelling, d["owner_name"]) if d["is_resident"] else None
            services.register_owner(
                request.user,
                dwelling,
                resident=resident,
                owner_name=d["owner_name"],
                developer=d["developer"],
                area=d["area"],
            )
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("已登记：%(a)s") % {"a": d["address"]})
            return redirect(f"{reverse('assembly:owners')}?estate={dwelling.estate_id}")
    visible = policy.restrict(
        Ownership.objects.filter(ended_on__isnull=True), request.user, "assembly.view_owners"
    )
    estates = list(
        Region.objects.filter(pk__in=visible.values("estate_id").distinct())
        .order_by("path")
        .values_list("pk", "name")
    )
    estate_id = request.GET.get("estate", "")
    qs = visible
    if estate_id.isdigit():
        qs = qs.filter(estate_id=int(estate_id))
    name = request.GET.get("q", "").strip()
    if name:
        qs = qs.filter(owner_name__startswith=name)
    totals = qs.aggregate(parts=Count("pk"), area=Sum("area"))
    rows = qs.select_related("dwelling__estate", "dwelling__building", "dwelling__entrance").order_by(
        "estate_id", "dwelling__building_id", "dwelling__entrance_id", "dwelling__number"
    )
    page = Paginator(rows, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "assembly/owners.html",
        {
            "page": page,
            "estates": estates,
            "estate": estate_id,
            "q": name,
            "query": urlencode({k: v for k, v in (("estate", estate_id), ("q", name)) if v}),
            "totals": totals,
            "form": form,
            "may_manage": policy.can(request.user, "assembly.manage_owners"),
        },
    )


# ------------------------------------------------------------------------------------------------ staff: meetings
@policy.page("assembly.view_meetings")
def meetings(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Meeting.objects.all(), request.user, "assembly.view_meetings").select_related(
        "estate"
    )
    page = Paginator(qs.order_by("-starts_at", "-pk"), PAGE).get_page(request.GET.get("page"))
    return render(request, "assembly/meetings.html", {"page": page})


@policy.page("assembly.manage_meetings")
def meeting_create(request: HttpRequest) -> HttpResponse:
    form = MeetingForm(request.POST or None, user=request.user)
    ids = community_ids(request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        community = Region.objects.filter(
            pk=int(request.POST.get("community") or (ids[0] if ids else 0))
        ).first()
        if community is None:
            messages.error(request, _("请选择社区"))
        else:
            try:
                m = services.convene(
                    request.user,
                    kind=d["kind"],
                    title=d["title"],
                    community=community,
                    starts_at=d["starts_at"],
                    location=d["location"],
                    agenda=list(d["agenda"]),
                )
            except ValidationError as exc:
                _error(request, exc)
            else:
                messages.success(request, _("会议已召集，可用二维码签到"))
                return redirect("assembly:meeting", pk=m.pk)
    communities = Region.objects.filter(pk__in=ids).order_by("path")
    return render(request, "assembly/meeting_form.html", {"form": form, "communities": communities})


def _checkin_url(request: HttpRequest, meeting: Meeting) -> str:
    return request.build_absolute_uri(reverse("assembly:checkin", args=[meeting.checkin_code]))


@policy.page("assembly.view_meetings", model="assembly.Meeting")
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    m = policy.get_or_deny(
        Meeting.objects.select_related("estate", "body"), request.user, "assembly.view_meetings", pk=pk
    )
    if request.method == "POST":
        m = policy.get_or_deny(Meeting.objects.all(), request.user, "assembly.manage_meetings", pk=pk)
        try:
            if request.POST.get("action") == "attend":
                services.record_attendance(
                    request.user, m, name=request.POST.get("name", ""), party=request.POST.get("party", "")
                )
                messages.success(request, _("已登记签到"))
            else:
                agenda = {a.pk: a for a in m.agenda.all()}
                decisions: list[tuple[Matter | None, str]] = []
                for a_pk, a in agenda.items():
                    text = request.POST.get(f"decision_{a_pk}", "")
                    if text.strip():
                        decisions.append((a, text))
                if request.POST.get("decision_other", "").strip():
                    decisions.append((None, request.POST["decision_other"]))
                services.record_minutes(
                    request.user, m, minutes=request.POST.get("minutes", ""), decisions=decisions
                )
                messages.success(request, _("会议纪要和决定已保存"))
        except ValidationError as exc:
            _error(request, exc)
        return redirect("assembly:meeting", pk=pk)
    url = _checkin_url(request, m)
    return render(
        request,
        "assembly/meeting.html",
        {
            "meeting": m,
            "agenda": m.agenda.all(),
            "attendance": m.attendance.all(),
            "by_party": services.attendance_by_party(m),
            "decisions": m.decisions.select_related("matter"),
            "qr_svg": segno.make(url, error="m").svg_inline(scale=4, title=_("签到二维码")),
            "checkin_url": url,
            "parties": Party.choices,
        },
    )


# ------------------------------------------------------------------------------------------------ residents (phone)
@policy.page("assembly.my_matters")
def mine(request: HttpRequest) -> HttpResponse:
    matters = services.matters_for(request.user).select_related("place").order_by("-created_at", "-pk")[:50]
    votes = policy.restrict(Vote.objects.filter(state=VoteState.OPEN), request.user, "assembly.my_votes")
    return render(
        request,
        "assembly/mine.html",
        {
            "matters": matters,
            "votes": votes.select_related("matter").order_by("closes_at"),
            "may_propose": policy.can(request.user, "assembly.propose"),
        },
    )


@policy.page("assembly.view_as_resident", model="assembly.Matter")
def mine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    matter = policy.get_or_deny(
        Matter.objects.select_related("place"), request.user, "assembly.view_as_resident", pk=pk
    )
    published = matter.events.filter(type=MatterEventType.PUBLISHED).order_by("-at", "-pk")
    votes = policy.restrict(matter.votes.all(), request.user, "assembly.my_votes")
    return render(
        request,
        "assembly/mine_detail.html",
        {
            "matter": matter,
            "stages": _stages(matter),
            "published": published,
            "supported": matter.support_rows.filter(user_id=request.user.pk or 0).exists(),
            "comments": matter.comments.select_related("user").order_by("-at")[:30],
            "milestones": matter.milestones.all(),
            "votes": votes,
            "open_stage": matter.stage in OPEN_STAGES,
        },
    )


@require_POST
@policy.page("assembly.support", model="assembly.Matter")
def mine_support(request: HttpRequest, pk: int) -> HttpResponse:
    matter = policy.get_or_deny(Matter.objects.all(), request.user, "assembly.support", pk=pk)
    try:
        added = services.support(request.user, matter)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已附议") if added else _("您已附议过"))
    return redirect("assembly:mine_detail", pk=pk)


@require_POST
@policy.page("assembly.comment", model="assembly.Matter")
def mine_comment(request: HttpRequest, pk: int) -> HttpResponse:
    matter = policy.get_or_deny(Matter.objects.all(), request.user, "assembly.comment", pk=pk)
    try:
        services.comment(request.user, matter, request.POST.get("body", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("意见已提交"))
    return redirect("assembly:mine_detail", pk=pk)


@policy.page("assembly.my_votes", model="assembly.Vote")
def ballot(request: HttpRequest, pk: int) -> HttpResponse:
    v = policy.get_or_deny(Vote.objects.select_related("matter"), request.user, "assembly.my_votes", pk=pk)
    if request.method == "POST":
        v = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.cast_ballot", pk=pk)
        try:
            services.cast(request.user, v, request.POST.get("choice", ""))
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("投票已提交，截止前可以修改"))
        return redirect("assembly:ballot", pk=pk)
    units = list(services.electors_of(request.user, v).select_related("ballot"))
    current = {getattr(getattr(e, "ballot", None), "choice", "") for e in units} - {""}
    paper = Ballot.objects.filter(elector__in=units, channel="paper").exists()
    return render(
        request,
        "assembly/ballot.html",
        {
            "vote": v,
            "units": units,
            "current": current.pop() if len(current) == 1 else "",
            "paper": paper,
            "choices": Choice.choices,
            "may_cast": policy.can(request.user, "assembly.cast_ballot", v),
        },
    )


@policy.page("assembly.check_in", sample={"code": "nocode"})
def checkin(request: HttpRequest, code: str) -> HttpResponse:
    m = Meeting.objects.filter(checkin_code=code).first()
    done = None
    if request.method == "POST" and m is not None:
        try:
            done = services.check_in(request.user, code)
        except (ValidationError, policy.PolicyDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("签到成功"))
    return render(request, "assembly/checkin.html", {"meeting": m, "done": done})


urlpatterns = [
    path("", home, name="home"),
    path("new/", create, name="create"),
    path("from-cases/", from_cases, name="from_cases"),
    path("<int:pk>/", detail, name="detail"),
    path("<int:pk>/advance/", advance, name="advance"),
    path("<int:pk>/plan/", plan, name="plan"),
    path("<int:pk>/vote/", open_vote, name="open_vote"),
    path("<int:pk>/milestone/", milestone, name="milestone"),
    path("<int:pk>/finish/", finish, name="finish"),
    path("votes/<int:pk>/", vote, name="vote"),
    path("votes/<int:pk>/close/", vote_close, name="vote_close"),
    path("votes/<int:pk>/paper/", vote_paper, name="vote_paper"),
    path("votes/<int:pk>/review/", vote_review, name="vote_review"),
    path("votes/<int:pk>/result.xlsx", vote_xlsx, name="vote_xlsx"),
    path("votes/<int:pk>/result.pdf", vote_pdf, name="vote_pdf"),
    path("bodies/", bodies, name="bodies"),
    path("bodies/new/", body_create, name="body_create"),
    path("bodies/<int:pk>/", body, name="body"),
    path("owners/", owners, name="owners"),
    path("meetings/", meetings, name="meetings"),
    path("meetings/new/", meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", meeting, name="meeting"),
    path("m/", mine, name="mine"),
    path("m/new/", create, name="mine_create"),
    path("m/<int:pk>/", mine_detail, name="mine_detail"),
    path("m/<int:pk>/support/", mine_support, name="mine_support"),
    path("m/<int:pk>/comment/", mine_comment, name="mine_comment"),
    path("m/votes/<int:pk>/", ballot, name="ballot"),
    path("checkin/<str:code>/", checkin, name="checkin"),
]
