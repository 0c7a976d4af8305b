"""Pages for members and residents on their phones: my hours, activities to join, check-in by code."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.volunteers import services
from tongxin.volunteers.access import resident_of
from tongxin.volunteers.choices import ActivityStatus, SignUpStatus
from tongxin.volunteers.forms import CodeForm
from tongxin.volunteers.models import Activity, ServiceOffer, SignUp


def _me(request: HttpRequest):  # type: ignore[no-untyped-def]
    resident = resident_of(request.user)
    if resident is None or resident.dwelling is None:
        raise Http404
    return resident


@login_required
def my_hours(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    account = ledger.person_account(me, Unit.HOURS)
    start, end = ledger.quarter_bounds(timezone.localdate())
    st = ledger.statement(account, start, end)
    mine = (
        SignUp.objects.filter(resident=me)
        .exclude(status=SignUpStatus.CANCELLED)
        .select_related("activity")
        .order_by("-activity__starts_at")[:20]
    )
    offers = ServiceOffer.objects.filter(community_id=me.dwelling.community_id, active=True).exclude(
        provider=me
    )
    return render(
        request,
        "volunteers/my_hours.html",
        {
            "me": me,
            "account": account,
            "st": st,
            "mine": mine,
            "offers": offers.select_related("provider")[:20],
        },
    )


@login_required
def my_activities(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    acts = list(
        Activity.objects.filter(
            community_id=me.dwelling.community_id, status=ActivityStatus.OPEN, starts_at__gt=timezone.now()
        ).order_by("starts_at")[:50]
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


@login_required
@require_POST
def join(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    act = get_object_or_404(Activity, pk=pk, community_id=me.dwelling.community_id)
    try:
        su = services.sign_up(act, me, actor=request.user)
    except services.ParticipationError as err:
        messages.error(request, str(err))
    else:
        if su.status == SignUpStatus.WAITLISTED:
            messages.success(request, _("名额已满，您已进入候补名单"))
        else:
            messages.success(request, _("报名成功"))
    return redirect("volunteers:my_activities")


@login_required
@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    su = get_object_or_404(SignUp, pk=pk, resident=me)
    try:
        services.cancel_signup(su, actor=request.user)
        messages.success(request, _("已取消报名"))
    except services.ParticipationError as err:
        messages.error(request, str(err))
    return redirect("volunteers:my_activities")


@login_required
def checkin(request: HttpRequest) -> HttpResponse:
    """The page the activity's QR code opens (code prefilled) or where the member types the code."""
    me = _me(request)
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


@login_required
@require_POST
def use_offer(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    offer = get_object_or_404(ServiceOffer, pk=pk, community_id=me.dwelling.community_id, active=True)
    try:
        services.spend_hours(me, offer, actor=request.user)
        messages.success(request, _("已用时长兑换服务：%(t)s") % {"t": offer.title})
    except services.ParticipationError as err:
        messages.error(request, str(err))
    return redirect("volunteers:my_hours")
