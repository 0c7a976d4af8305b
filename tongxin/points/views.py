"""Points pages: staff weigh-ins, the rewards shop and exchange day, leaderboards; residents' points and shop.

Every view declares its action (``points/policy.py``); households, rewards and communities are fetched through
``policy.get_or_deny``/``restrict``, so anything outside the user's scope answers 404.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.policy import home_community_id, resident_of
from tongxin.people.models import Household, Resident
from tongxin.points import services
from tongxin.points.forms import RedeemForm, RewardForm, WeighInForm
from tongxin.points.models import CollectionPoint, PointRule, Redemption, Reward, WasteType, WeighIn
from tongxin.regions.models import Region
from tongxin.regions.policy import community_ids

PAGE = 50


def _household(request: HttpRequest, pk: Any, action: str) -> Household:
    households = Household.objects.select_related("dwelling__community")
    return policy.get_or_deny(households, request.user, action, pk=pk or 0)


@policy.page("points.view_home")
def home(request: HttpRequest) -> HttpResponse:
    """Weigh-ins at a collection point: find the household, weigh, credit. Residents go to their own points."""
    if not policy.can(request.user, "points.record_weigh_in"):
        return redirect("points:mine")
    communities = community_ids(request.user)
    form = WeighInForm(request.POST or None, initial={"token": secrets.token_hex(16)})
    waste_types = WasteType.objects.filter(community_id__in=communities).order_by("community_id", "pk")
    form.fields["waste_type"].widget.choices = [(w.pk, f"{w.name}（{w.rate}/kg）") for w in waste_types]
    points_qs = CollectionPoint.objects.filter(community_id__in=communities)
    form.fields["collection_point"].widget.choices = [("", "—")] + [(p.pk, p.name) for p in points_qs]
    rules = PointRule.objects.filter(community_id__in=communities).order_by("community_id", "pk")
    if request.method == "POST" and request.POST.get("action") == "award":
        return _award(request, rules)
    if request.method == "POST" and form.is_valid():
        household = _household(request, form.cleaned_data["household"], "points.record_weigh_in")
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
    households = policy.restrict(Household.objects.all(), request.user, "points.record_weigh_in")
    recent = (
        WeighIn.objects.filter(household__in=households)
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
    household = _household(request, request.POST.get("household"), "points.award")
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


@policy.page("points.view_shop")
def shop(request: HttpRequest) -> HttpResponse:
    rewards = (
        policy.restrict(Reward.objects.all(), request.user, "points.view_shop")
        .select_related("community")
        .order_by("community_id", "price", "pk")
    )
    action = request.POST.get("action")
    reward_form = RewardForm(request.POST if action == "add" else None)
    redeem_form = RedeemForm(request.POST if action == "redeem" else None)
    redeem_form.fields["reward"].widget.choices = [
        (r.pk, f"{r.name}（{r.price}）") for r in rewards if r.active
    ]
    if request.method == "POST":
        if action == "add" and reward_form.is_valid():
            communities = policy.restrict(
                Region.objects.filter(kind="community"), request.user, "points.add_reward"
            ).order_by("pk")
            chosen = request.POST.get("community") or communities.values_list("pk", flat=True).first()
            community = policy.get_or_deny(communities, request.user, "points.add_reward", pk=chosen or 0)
            services.add_reward(community, actor=request.user, **reward_form.cleaned_data)
            messages.success(request, _("已上架"))
            return redirect("points:shop")
        if action == "restock":
            reward = policy.get_or_deny(
                Reward.objects.all(), request.user, "points.restock", pk=request.POST.get("reward") or 0
            )
            try:
                services.restock(reward, int(request.POST.get("n") or 0), actor=request.user)
                messages.success(request, _("已补货"))
            except (services.PointsError, ValueError) as err:
                messages.error(request, str(err))
            return redirect("points:shop")
        if action == "redeem" and redeem_form.is_valid():
            household = _household(
                request, redeem_form.cleaned_data["household"], "points.redeem_for_household"
            )
            reward = get_object_or_404(rewards, pk=redeem_form.cleaned_data["reward"])
            try:
                services.redeem(household, reward, redeem_form.cleaned_data["quantity"], actor=request.user)
                messages.success(request, _("兑换成功：%(r)s") % {"r": reward.name})
            except services.PointsError as err:
                messages.error(request, str(err))
            return redirect("points:shop")
    households = policy.restrict(Household.objects.all(), request.user, "points.redeem_for_household")
    redemptions = (
        Redemption.objects.filter(household__in=households)
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
            "redemptions": redemptions,
        },
    )


@policy.page("points.view_leaderboards")
def leaderboards(request: HttpRequest) -> HttpResponse:
    if policy.can(request.user, "points.view_shop"):
        communities = community_ids(request.user)
    else:
        home = home_community_id(request.user)
        if home is None:
            return render(request, "ledger/no_resident.html", {"title": _("积分排行榜")})
        communities = [home]
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
def _my_household(request: HttpRequest) -> Household | None:
    """The signed-in resident's household (in a dwelling), or None."""
    me = resident_of(request.user)
    if me is None or me.household is None or me.dwelling is None:
        return None
    return me.household


@policy.page("points.view_own")
def mine(request: HttpRequest) -> HttpResponse:
    household = _my_household(request)
    if household is None:
        return render(request, "ledger/no_resident.html", {"title": _("我的家庭积分")})
    community_id = household.dwelling.community_id
    account = ledger.household_account(household, Unit.POINTS)
    today = timezone.localdate()
    st = ledger.statement(account, today - dt.timedelta(days=90), today)
    rewards = policy.restrict(Reward.objects.filter(active=True), request.user, "points.redeem_own")
    policy_row = services.policy_for(community_id)
    return render(
        request,
        "points/mine.html",
        {
            "account": account,
            "st": st,
            "rewards": rewards.order_by("price", "pk"),
            "exchange_day": policy_row.exchange_day,
            "is_exchange_day": today.day == policy_row.exchange_day,
        },
    )


@policy.page("points.redeem_own", model="points.Reward")
@require_POST
def redeem_mine(request: HttpRequest, pk: int) -> HttpResponse:
    reward = policy.get_or_deny(Reward.objects.filter(active=True), request.user, "points.redeem_own", pk=pk)
    household = resident_of(request.user).household  # the rule's condition: the user belongs to a household
    try:
        services.redeem(household, reward, 1, actor=request.user)
        messages.success(request, _("兑换成功：%(r)s，请到社区领取") % {"r": reward.name})
    except services.PointsError as err:
        messages.error(request, str(err))
    return redirect("points:mine")
