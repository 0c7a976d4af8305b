"""Mediation pages (staff desktop and the mediator's phone): the dispute register, one dispute with its parties,
sessions, agreement and follow-ups, registering a dispute, handing a case over, the agreement PDF."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.core.exports import attachment
from tongxin.mediation import services
from tongxin.mediation.choices import DisputeKind, DisputeSource, DisputeState, PartyRole
from tongxin.mediation.models import Dispute, DisputeParty, Mediator
from tongxin.regions.models import Grid

app_name = "mediation"


def _error(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(str(m) for m in exc.messages))


@policy.page("mediation.view")
def dispute_list(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Dispute.objects.all(), request.user, "mediation.view").select_related(
        "grid", "mediator"
    )
    state = request.GET.get("state", "")
    if state in DisputeState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs.order_by("-created_at", "-pk"), 30).get_page(request.GET.get("page"))
    return render(
        request, "mediation/list.html", {"page": page, "state": state, "states": DisputeState.choices}
    )


@policy.page("mediation.register")
def dispute_create(request: HttpRequest) -> HttpResponse:
    grids = policy.restrict(Grid.objects.all(), request.user, "regions.view_grid").order_by("code")
    if request.method == "POST":
        grid = grids.filter(pk=request.POST.get("grid") or 0).first()
        parties = [
            {
                "role": role,
                "name": request.POST.get(f"{role}_name", ""),
                "phone": request.POST.get(f"{role}_phone", ""),
            }
            for role in (PartyRole.APPLICANT, PartyRole.RESPONDENT)
            if request.POST.get(f"{role}_name", "").strip()
        ]
        try:
            if grid is None:
                raise services.MediationError({"grid": _("请选择网格")})
            d = services.register(
                request.user,
                title=request.POST.get("title", ""),
                description=request.POST.get("description", ""),
                kind=request.POST.get("kind") or DisputeKind.OTHER,
                source=request.POST.get("source") or DisputeSource.PATROL,
                grid=grid,
                parties=parties,
            )
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("纠纷已登记"))
            return redirect("mediation:detail", pk=d.pk)
    return render(
        request,
        "mediation/form.html",
        {"grids": grids, "kinds": DisputeKind.choices, "sources": DisputeSource.choices},
    )


@policy.page("mediation.view", model="mediation.Dispute")
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    d = policy.get_or_deny(
        Dispute.objects.select_related("grid", "mediator", "case", "dwelling"),
        request.user,
        "mediation.view",
        pk=pk,
    )
    return render(
        request,
        "mediation/detail.html",
        {
            "dispute": d,
            "parties": d.parties.all(),
            "sessions": d.sessions.select_related("recorded_by"),
            "follow_ups": d.follow_ups.all(),
            "agreement": getattr(d, "agreement", None),
            "events": d.events.select_related("actor").order_by("-at", "-pk")[:40],
            "mediators": Mediator.objects.filter(community_id=d.community_id, active=True),
        },
    )


@require_POST
@policy.page("mediation.mediate", model="mediation.Dispute")
def dispute_act(request: HttpRequest, pk: int) -> HttpResponse:
    """The mediator's and staff's steps, by ``action``: session, agreement, failed, follow_up; assign, return."""
    action = request.POST.get("action", "")
    needed = "mediation.manage" if action in ("assign", "return", "close") else "mediation.mediate"
    d = policy.get_or_deny(Dispute.objects.all(), request.user, needed, pk=pk)
    p = request.POST
    try:
        if action == "session":
            services.record_session(request.user, d, notes=p.get("notes", ""), location=p.get("location", ""))
        elif action == "agreement":
            services.record_agreement(request.user, d, text=p.get("text", ""))
        elif action == "failed":
            services.record_failure(request.user, d, reason=p.get("reason", ""))
        elif action == "follow_up":
            services.follow_up(request.user, d, kept=p.get("kept") == "1", notes=p.get("notes", ""))
        elif action == "assign":
            mediator = Mediator.objects.filter(pk=p.get("mediator") or 0).first()
            if mediator is None:
                raise services.MediationError({"mediator": _("请选择调解员")})
            services.assign(request.user, d, mediator)
        elif action == "return":
            services.return_to_case(request.user, d, note=p.get("note", ""))
        elif action == "close":
            services.close_failed(request.user, d)
        else:
            raise services.MediationError(_("未知操作"))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已保存"))
    return redirect("mediation:detail", pk=pk)


@require_POST
@policy.page("mediation.hand_over_case", model="cases.Case")
def from_case(request: HttpRequest, pk: int) -> HttpResponse:
    from tongxin.cases.models import Case

    case = policy.get_or_deny(
        Case.objects.select_related("grid__community"), request.user, "mediation.hand_over_case", pk=pk
    )
    try:
        d = services.hand_over_case(
            request.user, case, kind=request.POST.get("kind") or DisputeKind.NEIGHBOURS
        )
    except ValidationError as exc:
        _error(request, exc)
        return redirect("cases:case_detail", pk=pk)
    messages.success(request, _("已转入矛盾调解"))
    return redirect("mediation:detail", pk=d.pk)


@policy.page("mediation.agreement_pdf", model="mediation.Dispute")
def agreement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    d = policy.get_or_deny(
        Dispute.objects.select_related("mediator"), request.user, "mediation.agreement_pdf", pk=pk
    )
    if not hasattr(d, "agreement"):
        messages.error(request, _("尚未达成协议"))
        return redirect("mediation:detail", pk=pk)
    response = HttpResponse(services.agreement_pdf(d), content_type="application/pdf")
    response["Content-Disposition"] = attachment(f"人民调解协议书-{d.number}.pdf")
    return response


@require_POST
@policy.page("mediation.reveal_phone", model="mediation.DisputeParty", reveals=True)
def reveal_phone(request: HttpRequest, pk: int) -> HttpResponse:
    party = policy.get_or_deny(
        DisputeParty.objects.select_related("dispute"), request.user, "mediation.reveal_phone", pk=pk
    )
    return JsonResponse({"phone": services.reveal_phone(request.user, party)})


@policy.page("mediation.view_mediators")
def mediators(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Mediator.objects.all(), request.user, "mediation.view_mediators")
    rows: Any = qs.order_by("community_id", "name")[:200]
    return render(request, "mediation/mediators.html", {"mediators": rows})


urlpatterns = [
    path("", dispute_list, name="list"),
    path("new/", dispute_create, name="create"),
    path("<int:pk>/", dispute_detail, name="detail"),
    path("<int:pk>/act/", dispute_act, name="act"),
    path("<int:pk>/agreement.pdf", agreement_pdf, name="agreement_pdf"),
    path("parties/<int:pk>/phone/", reveal_phone, name="reveal_phone"),
    path("from-case/<int:pk>/", from_case, name="from_case"),
    path("mediators/", mediators, name="mediators"),
]
