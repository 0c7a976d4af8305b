"""Staff pages of the registry of people: list with search, detail, edit, reveal, households.

Thin views: parse, call :mod:`tongxin.people.services`, render. Every queryset goes through ``visible_to``; a
person or dwelling outside the user's scope answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.core.pagination import CappedPaginator
from tongxin.people import services
from tongxin.people.choices import Relation, ResidentStatus
from tongxin.people.forms import (
    PAGE_SIZE,
    MoveForm,
    ResidentFilterForm,
    ResidentForm,
    grid_choices_for,
)
from tongxin.people.models import Household, Membership, Resident
from tongxin.people.policy import visible_tag_levels, visible_tags
from tongxin.people.search import ResidentFilters, search_residents
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Dwelling, Grid, Region

ADDRESS_RELATED = ("dwelling__estate", "dwelling__building", "dwelling__entrance")


def _form_errors(form: Any, exc: ValidationError) -> None:
    """Put a service's field errors on the form fields of the same name (or on the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@policy.page("people.list_residents")
def resident_list(request: HttpRequest) -> HttpResponse:
    grids = list(grid_choices_for(request.user))
    form = ResidentFilterForm(request.GET or None, user=request.user, grids=grids)
    # A filter the user may not use (e.g. a restricted tag) matches nobody rather than being ignored.
    valid = form.is_valid() or not form.is_bound
    data = form.cleaned_data if form.is_bound and valid else {}
    status = data.get("status") or "active"
    filters = ResidentFilters(
        q=data.get("q", ""),
        tags=(),  # filtered below: the form already limited the codes to the tags this user may see
        residence_status=data.get("residence_status", ""),
        member_type=data.get("member_type", ""),
        grid_id=data.get("grid"),
        region_id=_int(request.GET.get("region")),
        status="" if status == "all" else status,
    )
    qs = search_residents(
        policy.restrict(Resident.objects.all(), request.user, "people.list_residents"),
        filters,
        tag_levels=visible_tag_levels(request.user),
    )
    qs = (
        qs.select_related(*ADDRESS_RELATED, "party_member")
        .prefetch_related(Prefetch("tags", queryset=visible_tags(request.user), to_attr="shown_tags"))
        .order_by("pk")
    )
    for code in data.get("tag") or ():
        qs = qs.filter(tags__code=code)
    if not valid:
        qs = qs.none()
    page = CappedPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode([(k, v) for k, vs in request.GET.lists() if k != "page" for v in vs])
    return render(
        request,
        "people/resident_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "may_create": policy.can(request.user, "people.create_resident"),
        },
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _resident_or_404(request: HttpRequest, pk: int, action: str = "people.view_resident") -> Resident:
    qs = Resident.objects.select_related(
        *ADDRESS_RELATED,
        "dwelling__grid",
        "household__head",
        "party_member__organisation",
        "party_member__service_post",
        "party_member__employer",
    )
    return policy.get_or_deny(qs, request.user, action, pk=pk)


def _party_member(resident: Resident) -> Any:
    try:
        return resident.party_member  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None


@policy.page("people.view_resident", model="people.Resident")
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(request, pk)
    return render(request, "people/resident_detail.html", _detail_context(request, resident))


def _detail_context(request: HttpRequest, resident: Resident, **extra: Any) -> dict[str, Any]:
    user = request.user
    members: list[Resident] = []
    if resident.household_id:
        members = list(
            Resident.objects.visible_to(request.user)
            .filter(household_id=resident.household_id, status=ResidentStatus.ACTIVE)
            .order_by("pk")
        )
    history = (
        Membership.objects.filter(resident=resident)
        .select_related(
            "household__dwelling__estate", "household__dwelling__building", "household__dwelling__entrance"
        )
        .order_by("moved_in_on", "pk")
    )
    editable = policy.can(user, "people.edit_resident", resident)
    return {
        "resident": resident,
        "tags": list(resident.tags.filter(pk__in=visible_tags(user).values("pk"))),
        "members": members,
        "history": history,
        "party_member": _party_member(resident),
        "may_reveal_id": bool(resident.id_number_enc)
        and policy.can(user, "people.reveal_id_number", resident),
        "may_reveal_phone": bool(resident.phone_enc) and policy.can(user, "people.reveal_phone", resident),
        "may_edit": editable,
        "move_form": extra.pop("move_form", None) or (MoveForm(user=request.user) if editable else None),
        **extra,
    }


@policy.page("people.view_resident", model="people.Resident", reveals=True)
@require_POST
def resident_reveal(request: HttpRequest, pk: int, what: str) -> HttpResponse:
    """Show one clear value to an authorised role; the service writes the audit record."""
    if what not in services.REVEAL_FIELDS:
        raise Http404
    resident = _resident_or_404(request, pk, services.REVEAL_ACTIONS[what])
    try:
        value = services.reveal(request.user, resident, what)
    except PermissionDenied:
        raise Http404 from None
    response = render(request, "people/reveal.html", {"resident": resident, "what": what, "value": value})
    response["Cache-Control"] = "no-store"
    return response


@policy.page("people.create_resident")
def resident_create(request: HttpRequest) -> HttpResponse:
    initial = {"address": request.GET.get("address", "")}
    form = ResidentForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            resident = services.create_resident(
                request.user,
                name=d["name"],
                dwelling=d["address"],
                id_kind=d["id_kind"],
                id_number=d["id_number"],
                phone=d["phone"],
                residence_status=d["residence_status"],
                skills=d["skills"],
                relation=d["relation"],
                start_household=d["start_household"],
                tags=d["tags"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已登记居民 %(name)s") % {"name": resident.name})
            return redirect("people:resident_detail", pk=resident.pk)
    return render(request, "people/resident_form.html", {"form": form, "resident": None})


@policy.page("people.edit_resident", model="people.Resident")
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(request, pk, "people.edit_resident")
    shown = [t.code for t in resident.tags.filter(pk__in=visible_tags(request.user).values("pk"))]
    initial = {
        "name": resident.name,
        "id_kind": resident.id_kind,
        "residence_status": resident.residence_status,
        "skills": resident.skills,
        "tags": shown,
    }
    form = ResidentForm(request.POST or None, user=request.user, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():  # the fields and the tags are saved together or not at all
                services.update_resident(
                    request.user,
                    resident,
                    name=d["name"],
                    id_kind=d["id_kind"],
                    id_number=d["id_number"] or None,
                    phone=d["phone"] or None,
                    residence_status=d["residence_status"],
                    skills=d["skills"],
                )
                services.set_tags(request.user, resident, d["tags"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("people:resident_detail", pk=resident.pk)
    return render(request, "people/resident_form.html", {"form": form, "resident": resident})


@policy.page("people.edit_resident", model="people.Resident")
@require_POST
def resident_move(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(request, pk, "people.edit_resident")
    form = MoveForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.move_in(
                request.user,
                resident,
                form.cleaned_data["address"],
                relation=form.cleaned_data["relation"],
                start_household=form.cleaned_data["start_household"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已办理迁入"))
            return redirect("people:resident_detail", pk=resident.pk)
    context = _detail_context(request, resident, move_form=form)
    return render(request, "people/resident_detail.html", context, status=400)


@policy.page("people.edit_resident", model="people.Resident")
@require_POST
def resident_move_out(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(request, pk, "people.edit_resident")
    status = request.POST.get("status") or ResidentStatus.MOVED_OUT
    try:
        services.move_out(request.user, resident, status=status)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已办理迁出，历史记录已保留"))
    return redirect("people:resident_detail", pk=resident.pk)


@policy.page("people.view_household", model="regions.Dwelling")
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A dwelling with its floor area, the household living there now and the households before."""
    dwelling = policy.get_or_deny(
        Dwelling.objects.select_related("estate", "building", "entrance", "community", "grid"),
        request.user,
        "people.view_household",
        pk=pk,
    )
    households = list(
        Household.objects.filter(dwelling=dwelling)
        .select_related("head")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("resident").order_by("moved_in_on", "pk"),
            )
        )
        .order_by("-started_on", "-pk")
    )
    current = [h for h in households if h.ended_on is None]
    past = [h for h in households if h.ended_on is not None]
    return render(
        request,
        "people/household_detail.html",
        {
            "dwelling": dwelling,
            "current": current,
            "past": past,
            "may_edit": policy.can(request.user, "people.create_resident", dwelling),
            "relations": [c for c in Relation.choices if c[0] != Relation.HEAD],
        },
    )


@policy.page("people.change_head", model="people.Household")
@require_POST
def household_change_head(request: HttpRequest, pk: int) -> HttpResponse:
    household = policy.get_or_deny(
        Household.objects.select_related("dwelling"), request.user, "people.change_head", pk=pk
    )
    new_head_id = _int(request.POST.get("new_head"))
    new_head = Resident.objects.filter(pk=new_head_id, household=household).first() if new_head_id else None
    try:
        if new_head is None:
            raise ValidationError({"new_head": _("请选择新户主")})
        services.change_head(
            request.user, household, new_head, old_head_relation=request.POST.get("old_head_relation", "")
        )
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已更换户主"))
    return redirect("people:household_detail", pk=household.dwelling_id)


@policy.page("people.view_grid_roster", model="regions.Grid")
def grid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A grid: code, chief, workers, party branch, buildings and its roster (一表)."""
    grid = policy.get_or_deny(
        Grid.objects.select_related("community", "chief", "party_branch"),
        request.user,
        "people.view_grid_roster",
        pk=pk,
    )
    try:
        branch = grid.party_branch  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        branch = None
    buildings = (
        Region.objects.visible_to(request.user)
        .filter(kind=RegionKind.BUILDING, grid=grid)
        .select_related("parent")
        .order_by("parent__name", "number", "pk")
    )
    page = Paginator(services.grid_roster_dwellings(request.user, grid), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    services.add_roster_columns(list(page.object_list))
    return render(
        request,
        "people/grid_detail.html",
        {
            "grid": grid,
            "workers": grid.workers.order_by("pk"),
            "branch": branch,
            "buildings": buildings,
            "page": page,
        },
    )


urlpatterns = [
    path("", resident_list, name="resident_list"),
    path("new/", resident_create, name="resident_create"),
    path("<int:pk>/", resident_detail, name="resident_detail"),
    path("<int:pk>/edit/", resident_edit, name="resident_edit"),
    path("<int:pk>/reveal/<str:what>/", resident_reveal, name="resident_reveal"),
    path("<int:pk>/move/", resident_move, name="resident_move"),
    path("<int:pk>/move-out/", resident_move_out, name="resident_move_out"),
    path("dwellings/<int:pk>/", household_detail, name="household_detail"),
    path("households/<int:pk>/head/", household_change_head, name="household_change_head"),
    path("grids/<int:pk>/", grid_detail, name="grid_detail"),
]
