"""Points pages: staff weigh-ins, the rewards shop and exchange day, leaderboards; residents' points and shop."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.people.models import Household, Resident
from tongxin.points import services
from tongxin.points.forms import RedeemForm, RewardForm, WeighInForm
from tongxin.points.models import CollectionPoint, PointRule, Redemption, Reward, WasteType, WeighIn
from tongxin.volunteers.access import community_q, is_staff_user, may_manage, resident_of, staff_community_ids

PAGE = 50


def _staff(request: HttpRequest) -> None:
    if not is_staff_user(request.user):
        raise Http404


def _household(request: HttpRequest, pk: Any) -> Household:
    return get_object_or_404(
        Household.objects.visible_to(request.user).select_related("dwelling__community"), pk=pk
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Weigh-ins at a collection point: find the household, weigh, credit."""
    if not is_staff_user(request.user):
        return redirect("points:mine")
    communities = staff_community_ids(request.user)
    form = WeighInForm(request.POST or None, initial={"token": secrets.token_hex(16)})
    waste_types = WasteType.objects.filter(community_id__in=communities).order_by("community_id", "pk")
    form.fields["waste_type"].widget.choices = [(w.pk, f"{w.name}（{w.rate}/kg）") for w in waste_types]
    points_qs = CollectionPoint.objects.filter(community_id__in=communities)
    form.fields["collection_point"].widget.choices = [("", "—")] + [(p.pk, p.name) for p in points_qs]
    rules = PointRule.objects.filter(community_id__in=communities).order_by("community_id", "pk")
    if request.method == "POST" and request.POST.get("action") == "award":
        return _award(request, rules)
    if request.method == "POST" and form.is_valid():
        household = _household(request, form.cleaned_data["household"])
        waste = get_object_or_404(waste_types, pk=form.cleaned_data["waste_type"])
        point = points_qs.filter(pk=form.cleaned_data.get("collection_point") or 0).first()
        try:
            wi, created = services.record_weigh_in(
                household,
                waste,
                form.cleaned_data["kg"],
                idempotency_key=f"form:{request.user.pk}:{form.cleaned_data['token']}",
                actor=request.user,
                collection_point=point,
            )
        except services.PointsError as err:
            messages.error(request, str(err))
        else:
            if created:
                messages.success(request, _("已记录，积分 +%(p)s") % {"p": ledger.fmt(wi.points)})
            else:
                messages.info(request, _("该称重已记录，未重复入账"))
            return redirect("points:home")
    q = request.GET.get("q", "").strip()
    found = []
    if q:
        found = list(
            Resident.objects.visible_to(request.user)
            .filter(name__icontains=q, household__isnull=False)
            .select_related("dwelling__estate", "dwelling__building", "dwelling__entrance")
            .order_by("name", "pk")[:20]
        )
    recent = (
        WeighIn.objects.filter(household__in=Household.objects.visible_to(request.user))
        .select_related("waste_type", "household__dwelling__estate", "household__dwelling__building")
        .select_related("household__dwelling__entrance")
        .order_by("-at", "-pk")
    )
    page = Paginator(recent, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "points/home.html",
        {"form": form, "q": q, "found": found, "page": page, "query": f"q={q}", "rules": rules},
    )


def _award(request: HttpRequest, rules: Any) -> HttpResponse:
    """Points for a good deed by rule; the reference (e.g. "2026-11 楼道保洁") makes a repeat credit once."""
    household = _household(request, request.POST.get("household") or 0)
    rule = get_object_or_404(rules, pk=request.POST.get("rule") or 0)
    reference = (request.POST.get("reference") or "").strip()[:60]
    if not reference:
        messages.error(request, _("请填写事由"))
        return redirect("points:home")
    try:
        services.award_by_rule(household, rule, reference=reference, actor=request.user)
        messages.success(request, _("已奖励 %(p)s 积分") % {"p": ledger.fmt(rule.points)})
    except services.PointsError as err:
        messages.error(request, str(err))
    return redirect("points:home")


@login_required
def shop(request: HttpRequest) -> HttpResponse:
    _staff(request)
    communities = staff_community_ids(request.user)
    rewards = (
        Reward.objects.filter(community_q(request.user))
        .select_related("community")
        .order_by("community_id", "price", "pk")
    )
    managed = [c for c in communities if may_manage(request.user, c)]
    reward_form = RewardForm(request.POST if request.POST.get("action") == "add" else None)
    redeem_form = RedeemForm(request.POST if request.POST.get("action") == "redeem" else None)
    redeem_form.fields["reward"].widget.choices = [
        (r.pk, f"{r.name}（{r.price}）") for r in rewards if r.active
    ]
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add" and managed and reward_form.is_valid():
            from tongxin.core import audit
            from tongxin.core.models import AuditLog

            community_id = int(request.POST.get("community") or managed[0])
            if community_id not in managed:
                raise Http404
            reward = Reward.objects.create(community_id=community_id, **reward_form.cleaned_data)
            audit.record(AuditLog.Action.CREATE, reward, after={"name": reward.name, "stock": reward.stock})
            messages.success(request, _("已上架"))
            return redirect("points:shop")
        if action == "restock":
            reward = get_object_or_404(rewards, pk=request.POST.get("reward") or 0)
            if reward.community_id not in managed:
                raise Http404
            n = int(request.POST.get("n") or 0)
            if n > 0:
                from tongxin.core import audit
                from tongxin.core.models import AuditLog

                Reward.objects.filter(pk=reward.pk).update(stock=F("stock") + n)
                audit.record(AuditLog.Action.UPDATE, reward, field="stock", after={"added": n})
                messages.success(request, _("已补货"))
            return redirect("points:shop")
        if action == "redeem" and redeem_form.is_valid():
            household = _household(request, redeem_form.cleaned_data["household"])
            reward = get_object_or_404(rewards, pk=redeem_form.cleaned_data["reward"])
            try:
                services.redeem(household, reward, redeem_form.cleaned_data["quantity"], actor=request.user)
                messages.success(request, _("兑换成功：%(r)s") % {"r": reward.name})
            except services.PointsError as err:
                messages.error(request, str(err))
            return redirect("points:shop")
    redemptions = (
        Redemption.objects.filter(household__in=Household.objects.visible_to(request.user))
        .select_related("reward", "household__dwelling__estate", "household__dwelling__building")
        .select_related("household__dwelling__entrance")
        .order_by("-at", "-pk")[:30]
    )
    return render(
        request,
        "points/shop.html",
        {
            "rewards": rewards,
            "reward_form": reward_form,
            "redeem_form": redeem_form,
            "can_manage": bool(managed),
            "redemptions": redemptions,
            "exchange_today": {c: services.is_exchange_day(c) for c in communities},
        },
    )


@login_required
def leaderboards(request: HttpRequest) -> HttpResponse:
    if is_staff_user(request.user):
        communities = staff_community_ids(request.user)
    else:
        me = resident_of(request.user)
        if me is None or me.dwelling is None:
            raise Http404
        communities = [me.dwelling.community_id]
    today = timezone.localdate()
    start = today.replace(day=1) if request.GET.get("period") != "year" else today.replace(month=1, day=1)
    return render(
        request,
        "points/leaderboards.html",
        {
            "buildings": services.leaderboard(communities, "building", start, today),
            "estates": services.leaderboard(communities, "estate", start, today),
            "start": start,
            "period": request.GET.get("period", "month"),
        },
    )


# --------------------------------------------------------------------------------------------- residents
def _me(request: HttpRequest) -> tuple[Resident, Household, int]:
    """The signed-in resident, their household and their community, or 404."""
    me = resident_of(request.user)
    if me is None or me.household is None or me.dwelling is None:
        raise Http404
    return me, me.household, me.dwelling.community_id


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    _resident, household, community_id = _me(request)
    account = ledger.household_account(household, Unit.POINTS)
    today = timezone.localdate()
    st = ledger.statement(account, today - dt.timedelta(days=90), today)
    rewards = Reward.objects.filter(community_id=community_id, active=True).order_by("price", "pk")
    policy = services.policy_for(community_id)
    return render(
        request,
        "points/mine.html",
        {
            "account": account,
            "st": st,
            "rewards": rewards,
            "exchange_day": policy.exchange_day,
            "is_exchange_day": today.day == policy.exchange_day,
        },
    )


@login_required
@require_POST
def redeem_mine(request: HttpRequest, pk: int) -> HttpResponse:
    _resident, household, community_id = _me(request)
    reward = get_object_or_404(Reward, pk=pk, community_id=community_id, active=True)
    try:
        services.redeem(household, reward, 1, actor=request.user)
        messages.success(request, _("兑换成功：%(r)s，请到社区领取") % {"r": reward.name})
    except services.PointsError as err:
        messages.error(request, str(err))
    return redirect("points:mine")
