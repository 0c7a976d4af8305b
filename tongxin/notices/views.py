"""Notice and leader pages: the staff workbench (desktop), the leader's home and notice (phone), the household's
notices (phone). Thin: parse, ask the policy, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.notices import coverage as cov
from tongxin.notices import exports, leaders, services
from tongxin.notices.choices import NoticeState, ReceiptStatus, RelayState
from tongxin.notices.forms import AssignForm, NoticeForm, ProxyForm, ReplyForm
from tongxin.notices.models import LeaderAssignment, Notice, Receipt, Relay
from tongxin.notices.policy import led_by, own_household_id
from tongxin.people.choices import ResidentStatus
from tongxin.people.models import Resident
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Region

PAGE = 30


def _error(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(str(m) for m in exc.messages))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------ staff
@policy.page("notices.list")
def notice_list(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(Notice.objects.all(), request.user, "notices.list").select_related(
        "target", "author"
    )
    page = Paginator(qs.order_by("-created_at", "-pk"), PAGE).get_page(request.GET.get("page"))
    return render(request, "notices/list.html", {"page": page})


@policy.page("notices.create")
def notice_create(request: HttpRequest) -> HttpResponse:
    form = NoticeForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            notice = services.create(
                request.user,
                title=d["title"],
                body=d["body"],
                target=d["target"],
                target_grid=d["target_grid"],
                audience=d["audience"],
                tags=list(d["tags"]),
                action=d["action"],
                reply_fields=services.parse_reply_fields(d["reply_fields"]),
                deadline=d["deadline"],
                attachments=[d["attachment"]] if d["attachment"] else [],
            )
            if "send" in request.POST:
                services.send(request.user, notice)
                messages.success(
                    request, _("通知已发送到%(n)d户") % {"n": Notice.objects.get(pk=notice.pk).households}
                )
            else:
                messages.success(request, _("草稿已保存"))
            return redirect("notices:detail", pk=notice.pk)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                _error(request, exc)
    return render(request, "notices/form.html", {"form": form})


@policy.page("notices.view", model="notices.Notice")
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = policy.get_or_deny(
        Notice.objects.select_related("target", "origin", "author", "target_grid"),
        request.user,
        "notices.view",
        pk=pk,
    )
    events = notice.events.select_related("actor").order_by("at", "pk")
    summary = cov.coverage(request.user, notice) if notice.state != NoticeState.DRAFT else None
    return render(
        request,
        "notices/detail.html",
        {"notice": notice, "events": events, "summary": summary, "attachments": notice.attachments.all()},
    )


def _act(request: HttpRequest, pk: int, action: str, fn: Any, done: str) -> HttpResponse:
    notice = policy.get_or_deny(Notice.objects.all(), request.user, action, pk=pk)
    try:
        fn(request.user, notice)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect("notices:detail", pk=pk)


@require_POST
@policy.page("notices.send", model="notices.Notice")
def notice_send(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "notices.send", services.send, _("通知已发送"))


@require_POST
@policy.page("notices.remind", model="notices.Notice")
def notice_remind(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "notices.remind", services.remind, _("已催办未转达的层级和未读的家庭"))


@require_POST
@policy.page("notices.close", model="notices.Notice")
def notice_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "notices.close", services.close, _("通知已结束"))


@policy.page("notices.export_receipts", model="notices.Notice")
def notice_export(request: HttpRequest, pk: int) -> HttpResponse:
    notice = policy.get_or_deny(Notice.objects.all(), request.user, "notices.export_receipts", pk=pk)
    data, filename = exports.export_receipts(request.user, notice)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    from tongxin.core.exports import attachment

    response["Content-Disposition"] = attachment(filename)
    return response


@policy.page("notices.view_coverage", model="notices.Notice")
def coverage(request: HttpRequest, pk: int) -> HttpResponse:
    notice = policy.get_or_deny(
        Notice.objects.select_related("target"), request.user, "notices.view_coverage", pk=pk
    )
    node = notice.target
    node_id = _int(request.GET.get("node"))
    if node_id and node_id != node.pk:
        found = Region.objects.filter(pk=node_id, path__startswith=notice.target.path).first()
        if found is None:
            raise Http404
        node = found
    report = cov.coverage(request.user, notice, node)
    ids = [r.relay_id for r in report.rows if r.relay_id and r.relay_state == RelayState.PENDING]
    if report.total.relay_id and report.total.relay_state == RelayState.PENDING:
        ids.append(report.total.relay_id)
    passable = (
        set(
            policy.restrict(Relay.objects.filter(pk__in=ids), request.user, "notices.pass_on").values_list(
                "pk", flat=True
            )
        )
        if notice.state == NoticeState.SENT
        else set()
    )
    return render(
        request,
        "notices/coverage.html",
        {
            "notice": notice,
            "report": report,
            "crumbs": cov.breadcrumbs(notice, node),
            "passable": passable,
        },
    )


@require_POST
@policy.page("notices.pass_on", model="notices.Relay")
def relay_pass_on(request: HttpRequest, pk: int) -> HttpResponse:
    relay = policy.get_or_deny(Relay.objects.select_related("notice"), request.user, "notices.pass_on", pk=pk)
    try:
        services.pass_on(request.user, relay)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已确认转达"))
    return redirect(request.POST.get("next") or services.leader_link(relay.notice))


@require_POST
@policy.page("notices.record_receipt", model="notices.Receipt")
def receipt_record(request: HttpRequest, pk: int) -> HttpResponse:
    receipt = policy.get_or_deny(
        Receipt.objects.select_related("notice"), request.user, "notices.record_receipt", pk=pk
    )
    form = ProxyForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请选择登记方式"))
        reply = {k: v for k, v in request.POST.items() if k.startswith("f")}
        services.record_for_household(request.user, receipt, form.cleaned_data["channel"], reply=reply)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已代为登记回执"))
    return redirect(request.POST.get("next") or services.leader_link(receipt.notice))


# ------------------------------------------------------------------------------------------- leaders (staff)
@policy.page("notices.view_leaders")
def leader_list(request: HttpRequest) -> HttpResponse:
    """The leaders of every building of one estate (the estates in the user's scope to choose from)."""
    estates = list(Region.objects.visible_to(request.user).filter(kind=RegionKind.ESTATE).order_by("path"))
    estate = next(
        (e for e in estates if e.pk == _int(request.GET.get("estate"))), estates[0] if estates else None
    )
    buildings: list[Region] = []
    by_building: dict[int, leaders.PlaceLeaders] = {}
    if estate is not None:
        buildings = list(
            Region.objects.visible_to(request.user)
            .filter(parent=estate, kind=RegionKind.BUILDING)
            .prefetch_related(Prefetch("children", queryset=Region.objects.order_by("number", "pk")))
            .order_by("path")
        )
        by_building = leaders.by_building([b.pk for b in buildings])
    rows = []
    for b in buildings:
        pl = by_building.get(b.pk, leaders.PlaceLeaders())
        rows.append((b, pl, [(e, pl.by_entrance.get(e.pk, [])) for e in b.children.all()]))
    return render(request, "notices/leader_list.html", {"estates": estates, "estate": estate, "rows": rows})


@policy.page("regions.view_node", model="regions.Region")
def building_leaders(request: HttpRequest, pk: int) -> HttpResponse:
    """One building's leaders, with the assignment form (a wider place lists its estates' buildings)."""
    if not policy.can(request.user, "notices.view_leaders"):
        raise Http404
    place = policy.get_or_deny(
        Region.objects.select_related("parent", "grid"), request.user, "regions.view_node", pk=pk
    )
    if place.kind == RegionKind.ENTRANCE and place.parent is not None:
        return redirect("notices:building_leaders", pk=place.parent_id)
    if place.kind != RegionKind.BUILDING:  # a wider place: its estates' list
        estate = place.pk if place.kind == RegionKind.ESTATE else ""
        return redirect(f"{reverse('notices:leader_list')}?estate={estate}")
    building = place
    form = _assign_form(building, request.POST or None)
    if request.method == "POST" and policy.can(request.user, "notices.assign_leader") and form.is_valid():
        d = form.cleaned_data
        resident = Resident.objects.filter(pk=d["resident"]).first()
        chosen = Region.objects.filter(pk=d["place"]).first()
        try:
            if resident is None or chosen is None:
                raise ValidationError(_("请选择居民和楼栋/单元"))
            leaders.assign(
                request.user,
                role=d["role"],
                resident=resident,
                place=chosen,
                floor=d["floor"],
                cadre=d["cadre"],
            )
        except ValidationError as exc:
            _error(request, exc)
        except policy.PolicyDenied as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已任命"))
            return redirect("notices:building_leaders", pk=building.pk)
    current = leaders.by_building([building.pk]).get(building.pk, leaders.PlaceLeaders())
    entrances = list(building.children.order_by("number", "pk"))
    return render(
        request,
        "notices/building_leaders.html",
        {"building": building, "current": current, "entrances": entrances, "form": form},
    )


def _assign_form(building: Region, data: Any) -> AssignForm:
    places = [(building.pk, f"{building.name}（{_('楼栋')}）")] + [
        (e.pk, f"{building.name}{e.name}") for e in building.children.order_by("number", "pk")
    ]
    from tongxin.party.choices import MemberType

    neighbours = Resident.objects.filter(dwelling__building=building, status=ResidentStatus.ACTIVE)
    community_id = building.place_ids()[1]
    # a 下沉 cadre living outside the community has no dwelling: he belongs to the community he reported in to
    cadres = (
        Resident.objects.filter(
            party_member__active=True,
            party_member__member_type=MemberType.DUAL_REGISTERED,
            status=ResidentStatus.ACTIVE,
        )
        .filter(Q(dwelling__community_id=community_id) | Q(party_member__community_id=community_id))
        .exclude(dwelling__building=building)
    )
    choices = [
        (r.pk, f"{r.name} · {r.dwelling.entrance.name}{r.dwelling.number}" if r.dwelling else r.name)
        for r in neighbours.select_related("dwelling__entrance").order_by(
            "dwelling__entrance__number", "dwelling__number", "pk"
        )[:600]
    ]
    choices += [(r.pk, f"{r.name} · {_('在职党员')}") for r in cadres.order_by("name", "pk")[:200]]
    return AssignForm(data, places=places, residents=choices)


@policy.page("regions.view_grid", model="regions.Grid")
def grid_leaders(request: HttpRequest, pk: int) -> HttpResponse:
    """The leaders of a grid's buildings: the fragment the grid roster page loads (also a page of its own)."""
    from tongxin.notices.templatetags.leaders_tags import grid_leaders_context
    from tongxin.regions.models import Grid

    grid = policy.get_or_deny(Grid.objects.all(), request.user, "regions.view_grid", pk=pk)
    context = grid_leaders_context(request.user, grid)
    if context["rows"] is None:
        raise Http404
    return render(request, "notices/_grid_leaders.html", context)


@require_POST
@policy.page("notices.assign_leader", model="notices.LeaderAssignment")
def leader_end(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = policy.get_or_deny(
        LeaderAssignment.objects.all(), request.user, "notices.assign_leader", pk=pk
    )
    try:
        leaders.end(request.user, assignment)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已卸任"))
    return redirect("notices:building_leaders", pk=assignment.building_id)


# ------------------------------------------------------------------------------------------- leaders (phone)
@policy.page("notices.leader_home")
def leader_home(request: HttpRequest) -> HttpResponse:
    """The leader's phone home: their places, the households in them, notices waiting to be passed on."""
    mine = list(
        leaders.current()
        .filter(resident__user_id=request.user.pk or 0)
        .select_related("place", "building", "estate")
    )
    dwellings = list(
        leaders.households_led(request.user).order_by("building_id", "entrance__number", "floor", "number")
    )
    heads = leaders.household_heads(dwellings)
    pending = list(
        policy.restrict(
            Relay.objects.filter(state=RelayState.PENDING, notice__state=NoticeState.SENT),
            request.user,
            "notices.pass_on",
        )
        .filter(led_by(request.user).q())
        .select_related("notice")
        .order_by("-notice__sent_at", "pk")[:20]
    )
    recent = list(
        policy.restrict(Notice.objects.filter(state=NoticeState.SENT), request.user, "notices.view").order_by(
            "-sent_at", "-pk"
        )[:10]
    )
    for a in mine:
        a.label = leaders.leader_label(a)  # type: ignore[attr-defined]
    groups: dict[str, list[tuple[Any, tuple[str, int]]]] = {}
    for d in dwellings:
        groups.setdefault(f"{d.building.name}{d.entrance.name}", []).append((d, heads.get(d.pk, ("", 0))))
    return render(
        request,
        "notices/leader_home.html",
        {"mine": mine, "groups": groups, "pending": pending, "recent": recent},
    )


@policy.page("notices.view", model="notices.Notice")
def leader_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """One notice on the leader's phone: pass it on for their places, see and record their households' receipts."""
    notice = policy.get_or_deny(Notice.objects.select_related("target"), request.user, "notices.view", pk=pk)
    led = led_by(request.user)
    relays = list(
        policy.restrict(Relay.objects.filter(notice=notice), request.user, "notices.pass_on")
        .filter(led.q())
        .order_by("level", "region_id")
    )
    names = dict(Region.objects.filter(pk__in=[r.region_id for r in relays]).values_list("pk", "name"))
    receipts = list(
        cov.receipts_for(request.user, notice)
        .filter(led.q())
        .select_related("dwelling", "household__head", "recorded_by")
        .order_by("entrance_id", "dwelling__floor", "dwelling__number", "pk")[:500]
    )
    reached = sum(1 for r in receipts if r.rank > 0)
    return render(
        request,
        "notices/leader_notice.html",
        {
            "notice": notice,
            "relays": [(r, names.get(r.region_id, "")) for r in relays],
            "receipts": receipts,
            "reached": reached,
            "proxy_form": ProxyForm(),
            "ReceiptStatus": ReceiptStatus,
        },
    )


# ------------------------------------------------------------------------------------------ households (phone)
@policy.page("notices.my_notices")
def mine(request: HttpRequest) -> HttpResponse:
    household_id = own_household_id(request.user)
    receipts = (
        Receipt.objects.filter(
            household_id=household_id, notice__state__in=[NoticeState.SENT, NoticeState.CLOSED]
        )
        .select_related("notice")
        .order_by("-notice__sent_at", "-pk")[:50]
        if household_id
        else []
    )
    is_leader = policy.can(request.user, "notices.leader_home")
    return render(request, "notices/mine.html", {"receipts": receipts, "is_leader": is_leader})


@policy.page("notices.view_mine", model="notices.Notice")
def mine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Opening the notice on the phone is reading it: the household's receipt moves to read."""
    notice = policy.get_or_deny(Notice.objects.all(), request.user, "notices.view_mine", pk=pk)
    if policy.can(request.user, "notices.respond", notice):
        services.respond(request.user, notice, ReceiptStatus.READ)
    receipt = Receipt.objects.filter(notice=notice, household_id=own_household_id(request.user) or 0).first()
    form = ReplyForm(fields=notice.reply_fields) if notice.asks_reply else None
    return render(
        request,
        "notices/mine_detail.html",
        {"notice": notice, "receipt": receipt, "form": form, "attachments": notice.attachments.all()},
    )


@require_POST
@policy.page("notices.respond", model="notices.Notice")
def mine_respond(request: HttpRequest, pk: int) -> HttpResponse:
    notice = policy.get_or_deny(Notice.objects.all(), request.user, "notices.respond", pk=pk)
    try:
        services.respond(request.user, notice, ReceiptStatus.CONFIRMED, reply=dict(request.POST.items()))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("回执已提交，谢谢"))
    return redirect("notices:mine_detail", pk=pk)


app_name = "notices"
urlpatterns = [
    path("", notice_list, name="list"),
    path("new/", notice_create, name="create"),
    path("<int:pk>/", notice_detail, name="detail"),
    path("<int:pk>/send/", notice_send, name="send"),
    path("<int:pk>/remind/", notice_remind, name="remind"),
    path("<int:pk>/close/", notice_close, name="close"),
    path("<int:pk>/export/", notice_export, name="export"),
    path("<int:pk>/coverage/", coverage, name="coverage"),
    path("relays/<int:pk>/pass-on/", relay_pass_on, name="pass_on"),
    path("receipts/<int:pk>/record/", receipt_record, name="record_receipt"),
    path("leaders/", leader_list, name="leader_list"),
    path("leaders/building/<int:pk>/", building_leaders, name="building_leaders"),
    path("leaders/<int:pk>/end/", leader_end, name="leader_end"),
    path("leaders/grid/<int:pk>/", grid_leaders, name="grid_leaders"),
    path("leader/", leader_home, name="leader_home"),
    path("leader/<int:pk>/", leader_notice, name="leader_notice"),
    path("m/", mine, name="mine"),
    path("m/<int:pk>/", mine_detail, name="mine_detail"),
    path("m/<int:pk>/respond/", mine_respond, name="mine_respond"),
]
