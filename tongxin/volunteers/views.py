"""Staff pages of participation: posts and rosters, activities, the ledger, member alerts, senior talent.

Thin: parse, call a service, render. Every view declares its action (``volunteers/policy.py``, ``ledger/policy.py``);
objects come through ``policy.get_or_deny``/``restrict``, so anything outside the user's communities answers 404
and a visible object the user may not change answers 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import segno
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.models import Account, LedgerTransaction
from tongxin.party.models import CoBuildingUnit, PartyMember, ServicePost
from tongxin.people.models import Resident
from tongxin.regions.models import Region
from tongxin.regions.policy import community_ids
from tongxin.volunteers import alerts, services
from tongxin.volunteers.choices import ActivityStatus, AlertLevel, SignUpStatus
from tongxin.volunteers.forms import ActivityForm, ShiftForm
from tongxin.volunteers.models import Activity, DutyShift, PostAssignment

PAGE = 50


@policy.page("volunteers.view_home")
def home(request: HttpRequest) -> HttpResponse:
    """Staff see the overview of their communities; members and residents go to their own hours."""
    if not policy.can(request.user, "volunteers.view_activity"):
        return redirect("volunteers:my_hours")
    communities = community_ids(request.user)
    now = timezone.now()
    context = {
        "open_activities": Activity.objects.filter(community_id__in=communities, status="open").count(),
        "on_duty": DutyShift.objects.filter(
            post__community_id__in=communities, starts_at__lte=now, ends_at__gt=now
        ).count(),
        "posts": ServicePost.objects.filter(community_id__in=communities).count(),
    }
    return render(request, "volunteers/home.html", context)


# ------------------------------------------------------------------------------------- posts and rosters
@policy.page("volunteers.view_post")
def post_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    posts = (
        policy.restrict(ServicePost.objects.all(), request.user, "volunteers.view_post")
        .select_related("community")
        .annotate(
            holders=Count("assignments", filter=Q(assignments__ended_on__isnull=True), distinct=True),
            on_duty=Count(
                "shifts", filter=Q(shifts__starts_at__lte=now, shifts__ends_at__gt=now), distinct=True
            ),
        )
        .order_by("community_id", "code")
    )
    page = Paginator(posts, PAGE).get_page(request.GET.get("page"))
    return render(request, "volunteers/post_list.html", {"page": page})


@policy.page("volunteers.view_post", model="party.ServicePost")
def post_detail(request: HttpRequest, pk: int) -> HttpResponse:
    post = policy.get_or_deny(
        ServicePost.objects.select_related("community"), request.user, "volunteers.view_post", pk=pk
    )
    now = timezone.now()
    assignments = (
        PostAssignment.objects.filter(post=post, ended_on__isnull=True)
        .select_related("member__resident")
        .order_by("member__resident__name")
    )
    shifts = (
        DutyShift.objects.filter(post=post, ends_at__gt=now - dt.timedelta(days=1))
        .select_related("member__resident", "grid")
        .order_by("starts_at")[:100]
    )
    form = ShiftForm(request.POST or None)
    form.fields["member"].widget.choices = [(a.member_id, a.member.resident.name) for a in assignments]
    if request.method == "POST":
        policy.get_or_deny(ServicePost.objects.all(), request.user, "volunteers.manage_post", pk=post.pk)
        action = request.POST.get("action")
        try:
            if action == "assign":
                member = get_object_or_404(
                    PartyMember.objects.visible_to(request.user).select_related("resident__dwelling"),
                    pk=request.POST.get("member_id") or 0,
                )
                services.assign_post(post, member, actor=request.user)
                messages.success(request, _("已分配岗位"))
                return redirect("volunteers:post_detail", pk=post.pk)
            if action == "shift" and form.is_valid():
                member = get_object_or_404(PartyMember, pk=form.cleaned_data["member"])
                services.add_shift(
                    post,
                    member,
                    form.cleaned_data["starts_at"],
                    form.cleaned_data["ends_at"],
                    actor=request.user,
                )
                messages.success(request, _("已排班"))
                return redirect("volunteers:post_detail", pk=post.pk)
        except services.ParticipationError as err:
            messages.error(request, str(err))
    candidates = (
        PartyMember.objects.visible_to(request.user)
        .filter(active=True, resident__dwelling__community_id=post.community_id)
        .exclude(post_assignments__post=post, post_assignments__ended_on__isnull=True)
        .select_related("resident")
        .order_by("resident__name")[:200]
    )
    return render(
        request,
        "volunteers/post_detail.html",
        {
            "post": post,
            "assignments": assignments,
            "shifts": shifts,
            "now": now,
            "form": form,
            "candidates": candidates,
        },
    )


# ------------------------------------------------------------------------------------------- activities
@policy.page("volunteers.view_activity")
def activity_list(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Activity.objects.all(), request.user, "volunteers.view_activity").select_related(
        "community", "organiser_unit"
    )
    status = request.GET.get("status", "")
    if status:
        qs = qs.filter(status=status)
    qs = qs.annotate(
        confirmed=Count("signups", filter=Q(signups__status=SignUpStatus.CONFIRMED)),
        waitlisted=Count("signups", filter=Q(signups__status=SignUpStatus.WAITLISTED)),
        attended=Count("signups", filter=Q(signups__status=SignUpStatus.ATTENDED)),
    ).order_by("-starts_at", "-pk")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/activity_list.html",
        {"page": page, "status": status, "statuses": ActivityStatus.choices, "query": f"status={status}"},
    )


@policy.page("volunteers.create_activity")
def activity_create(request: HttpRequest) -> HttpResponse:
    communities = policy.restrict(
        Region.objects.filter(kind="community"), request.user, "volunteers.create_activity"
    ).order_by("pk")
    managed = list(communities.values_list("pk", flat=True))
    if not managed:
        raise Http404
    units = list(CoBuildingUnit.objects.filter(communities__in=managed).distinct().order_by("name"))
    form = ActivityForm(request.POST or None)
    form.fields["organiser_unit"].widget.choices = [("", _("社区主办"))] + [(u.pk, u.name) for u in units]
    form.fields["eligible_unit"].widget.choices = [("", "—")] + [(u.pk, u.name) for u in units]
    if request.method == "POST" and form.is_valid():
        community = communities.filter(pk=request.POST.get("community") or managed[0]).first()
        if community is None:
            raise Http404
        data = dict(form.cleaned_data)
        by_pk = {u.pk: u for u in units}
        for field in ("organiser_unit", "eligible_unit"):
            pk = data.pop(field)
            if pk and pk not in by_pk:
                raise Http404  # a unit that does not work with the user's communities
            data[field] = by_pk.get(pk) if pk else None
        try:
            act = services.create_activity(actor=request.user, community=community, **data)
        except services.ParticipationError as err:
            messages.error(request, str(err))
        else:
            messages.success(request, _("活动已发布"))
            return redirect("volunteers:activity_detail", pk=act.pk)
    return render(request, "volunteers/activity_form.html", {"form": form, "communities": communities})


def _checkin_url(request: HttpRequest, act: Activity) -> str:
    return request.build_absolute_uri(reverse("volunteers:checkin") + f"?code={act.code}")


@policy.page("volunteers.view_activity", model="volunteers.Activity")
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    act = policy.get_or_deny(
        Activity.objects.select_related("community", "eligible_unit"),
        request.user,
        "volunteers.view_activity",
        pk=pk,
    )
    if request.method == "POST":
        policy.get_or_deny(Activity.objects.all(), request.user, "volunteers.manage_activity", pk=act.pk)
        try:
            if request.POST.get("action") == "verify":
                ids = {int(x) for x in request.POST.getlist("attended") if x.isdigit()}
                services.verify_attendance(act, ids, actor=request.user)
                messages.success(request, _("已核验出勤，时长已入账"))
            elif request.POST.get("action") in {"closed", "cancelled"}:
                services.set_activity_status(act, request.POST["action"], actor=request.user)
                messages.success(request, _("状态已更新"))
        except services.ParticipationError as err:
            messages.error(request, str(err))
        return redirect("volunteers:activity_detail", pk=act.pk)
    signups = list(act.signups.select_related("resident").order_by("signed_up_at", "pk"))
    qr = segno.make(_checkin_url(request, act), error="m")
    return render(
        request,
        "volunteers/activity_detail.html",
        {
            "act": act,
            "signups": signups,
            "qr_svg": qr.svg_inline(scale=4, title=_("签到二维码")),
            "checkin_url": _checkin_url(request, act),
            "events": act.events.select_related("actor").order_by("-at")[:30],
        },
    )


# ----------------------------------------------------------------------------------------------- ledger
@policy.page("ledger.view_account")
def account_list(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Account.objects.all(), request.user, "ledger.view_account").select_related(
        "community"
    )
    unit = request.GET.get("unit", "")
    if unit in Unit.values:
        qs = qs.filter(unit=unit)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(name__icontains=q)
    page = Paginator(qs.order_by("kind", "name", "pk"), PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/account_list.html",
        {"page": page, "unit": unit, "q": q, "units": Unit.choices, "query": f"unit={unit}&q={q}"},
    )


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    try:
        start = dt.date.fromisoformat(request.GET["start"])
        end = dt.date.fromisoformat(request.GET["end"])
    except (KeyError, ValueError):
        start, end = ledger.quarter_bounds(timezone.localdate())
    return start, end


@policy.page("ledger.view_account", model="ledger.Account")
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = policy.get_or_deny(
        Account.objects.select_related("community", "dwelling"), request.user, "ledger.view_account", pk=pk
    )
    if request.method == "POST":
        policy.get_or_deny(Account.objects.all(), request.user, "ledger.reverse", pk=account.pk)
        tx = get_object_or_404(
            LedgerTransaction, pk=request.POST.get("transaction") or 0, entries__account=account
        )
        try:
            services.reverse_transaction(tx, actor=request.user, memo=request.POST.get("memo", ""))
            messages.success(request, _("已冲正"))
        except services.ParticipationError as err:
            messages.error(request, str(err))
        return redirect("volunteers:account_detail", pk=account.pk)
    start, end = _period(request)
    st = ledger.statement(account, start, end)
    reversed_ids = set(
        LedgerTransaction.objects.filter(reverses_id__in=[e.transaction_id for e in st.entries]).values_list(
            "reverses_id", flat=True
        )
    )
    return render(
        request,
        "volunteers/account_detail.html",
        {"account": account, "st": st, "reversed_ids": reversed_ids},
    )


@policy.page("ledger.check_balances")
@require_POST
def check_balances(request: HttpRequest) -> HttpResponse:
    wrong = ledger.check_balances()
    if wrong:
        messages.error(request, _("%(n)s 个账户余额与分录不符") % {"n": len(wrong)})
    else:
        messages.success(request, _("全部账户余额与分录一致"))
    return redirect("volunteers:accounts")


# ----------------------------------------------------------------------------------- alerts and talent
def _members(request: HttpRequest) -> Any:
    return PartyMember.objects.visible_to(request.user).filter(active=True)


def _day(request: HttpRequest) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return timezone.localdate()


@policy.page("volunteers.view_alerts")
def alert_list(request: HttpRequest) -> HttpResponse:
    day = _day(request)
    level = request.GET.get("level", "")
    visit = request.GET.get("visit") == "1"
    page = Paginator(_members(request).order_by("pk"), PAGE).get_page(request.GET.get("page"))
    rows = alerts.participation(_members(request).filter(pk__in=[m.pk for m in page]), day)
    if level in AlertLevel.values:
        rows = [r for r in rows if r.level == level]
    if visit:
        rows = [r for r in rows if r.needs_visit]
    start, end = ledger.quarter_bounds(day)
    return render(
        request,
        "volunteers/alert_list.html",
        {
            "rows": rows,
            "page": page,
            "level": level,
            "levels": AlertLevel.choices,
            "visit": visit,
            "start": start,
            "end": end,
            "query": f"level={level}&visit={'1' if visit else ''}",
        },
    )


@policy.page("volunteers.view_alerts")
def visit_list(request: HttpRequest) -> HttpResponse:
    """The community secretary's visit list: every member at orange or red this quarter."""
    day = _day(request)
    rows = [r for r in alerts.participation(_members(request), day) if r.needs_visit]
    return render(request, "volunteers/visit_list.html", {"rows": rows, "day": day})


@policy.page("volunteers.view_alerts")
def appraisal(request: HttpRequest) -> HttpResponse:
    day = _day(request)
    rows = alerts.appraisal(_members(request), day)
    start, end = ledger.quarter_bounds(day)
    return render(request, "volunteers/appraisal.html", {"rows": rows[:500], "start": start, "end": end})


@policy.page("volunteers.view_talent")
def talent_list(request: HttpRequest) -> HttpResponse:
    """The senior-talent roster (五老): residents tagged senior_talent, with their skills."""
    qs = (
        Resident.objects.visible_to(request.user)
        .filter(tags__code="senior_talent", status="active")
        .select_related("dwelling__estate", "dwelling__building")
        .prefetch_related(Prefetch("tags"))
        .order_by("name", "pk")
    )
    skill = request.GET.get("skill", "").strip()
    if skill:
        qs = qs.filter(skills__icontains=skill)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request, "volunteers/talent_list.html", {"page": page, "skill": skill, "query": f"skill={skill}"}
    )
