"""Pages for members and residents on their phones: my hours, activities to join, check-in by code.

Every page declares its action (``volunteers/policy.py``); activities, offers and sign-ups are reached only in
the community where the user lives, or as the user's own (anything else answers 404). An account not yet linked to
a resident record gets a page that says so.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.policy import resident_of
from tongxin.volunteers import services
from tongxin.volunteers.choices import ActivityStatus, SignUpStatus
from tongxin.volunteers.forms import CodeForm
from tongxin.volunteers.models import Activity, ServiceOffer, SignUp


def _me(request: HttpRequest) -> Any:
    """The signed-in user's resident record if it has a dwelling, else None."""
    resident = resident_of(request.user)
    return resident if resident is not None and resident.dwelling is not None else None


def _not_linked(request: HttpRequest, title: str) -> HttpResponse:
    return render(request, "ledger/no_resident.html", {"title": title})


@policy.page("volunteers.view_own_hours")
def my_hours(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if me is None:
        return _not_linked(request, _("我的红色银行"))
    account = ledger.person_account(me, Unit.HOURS)
    start, end = ledger.quarter_bounds(timezone.localdate())
    st = ledger.statement(account, start, end)
    mine = (
        SignUp.objects.filter(resident=me)
        .exclude(status=SignUpStatus.CANCELLED)
        .select_related("activity")
        .order_by("-activity__starts_at")[:20]
    )
    offers = (
        policy.restrict(ServiceOffer.objects.filter(active=True), request.user, "volunteers.use_offer")
        .exclude(provider=me)
        .select_related("provider")
    )
    return render(
        request,
        "volunteers/my_hours.html",
        {"me": me, "account": account, "st": st, "mine": mine, "offers": offers[:20]},
    )


@policy.page("volunteers.view_own_hours")
def my_activities(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if me is None:
        return _not_linked(request, _("活动报名"))
    acts = list(
        policy.restrict(Activity.objects.all(), request.user, "volunteers.join_activity")
        .filter(status=ActivityStatus.OPEN, starts_at__gt=timezone.now())
        .order_by("starts_at")[:50]
    )
    counts = services.activity_counts([a.pk for a in acts])
    mine = {
        s.activity_id: s
        for s in SignUp.objects.filter(
            resident=me, activity__in=acts, status__in=[SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED]
        )
    }
    rows = [
        {
            "act": a,
            "taken": counts.get(a.pk, {}).get("confirmed", 0),
            "signup": mine.get(a.pk),
            "problem": services.eligibility_problem(a, me),
        }
        for a in acts
    ]
    return render(request, "volunteers/my_activities.html", {"rows": rows})


@policy.page("volunteers.join_activity", model="volunteers.Activity")
@require_POST
def join(request: HttpRequest, pk: int) -> HttpResponse:
    act = policy.get_or_deny(Activity.objects.all(), request.user, "volunteers.join_activity", pk=pk)
    try:
        su = services.sign_up(act, resident_of(request.user), actor=request.user)
    except services.ParticipationError as err:
        messages.error(request, str(err))
    else:
        if su.status == SignUpStatus.WAITLISTED:
            messages.success(request, _("名额已满，您已进入候补名单"))
        else:
            messages.success(request, _("报名成功"))
    return redirect("volunteers:my_activities")


@policy.page("volunteers.cancel_signup", model="volunteers.SignUp")
@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    su = policy.get_or_deny(SignUp.objects.all(), request.user, "volunteers.cancel_signup", pk=pk)
    try:
        services.cancel_signup(su, actor=request.user)
        messages.success(request, _("已取消报名"))
    except services.ParticipationError as err:
        messages.error(request, str(err))
    return redirect("volunteers:my_activities")


@policy.page("volunteers.check_in")
def checkin(request: HttpRequest) -> HttpResponse:
    """The page the activity's QR code opens (code prefilled) or where the member types the code."""
    me = _me(request)
    if me is None:
        return _not_linked(request, _("活动签到"))
    form = CodeForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "out":
                su = services.check_out(me, form.cleaned_data["code"], actor=request.user)
                messages.success(request, _("签退成功：%(t)s") % {"t": su.activity.title})
            else:
                su = services.check_in(me, form.cleaned_data["code"], actor=request.user)
                messages.success(request, _("签到成功：%(t)s") % {"t": su.activity.title})
            return redirect("volunteers:checkin")
        except services.ParticipationError as err:
            messages.error(request, str(err))
    return render(request, "volunteers/checkin.html", {"form": form})


@policy.page("volunteers.use_offer", model="volunteers.ServiceOffer")
@require_POST
def use_offer(request: HttpRequest, pk: int) -> HttpResponse:
    offer = policy.get_or_deny(
        ServiceOffer.objects.filter(active=True), request.user, "volunteers.use_offer", pk=pk
    )
    try:
        services.spend_hours(resident_of(request.user), offer, actor=request.user)
        messages.success(request, _("已用时长兑换服务：%(t)s") % {"t": offer.title})
    except services.ParticipationError as err:
        messages.error(request, str(err))
    return redirect("volunteers:my_hours")
