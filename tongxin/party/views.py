"""Staff pages of the party organisation: the tree, the member list and co-building units (大党委)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from tongxin.core import policy
from tongxin.core.pagination import CappedPaginator
from tongxin.party import services
from tongxin.party.choices import MemberType
from tongxin.party.models import PartyMember

PAGE_SIZE = 50


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=_("姓名"), required=False, max_length=50)
    member_type = forms.ChoiceField(label=_("党员类型"), required=False)
    organisation = forms.TypedChoiceField(label=_("所在组织"), required=False, coerce=int, empty_value=None)
    service_post = forms.TypedChoiceField(label=_("服务岗位"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: object, orgs: list, posts: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["member_type"].choices = [("", _("全部")), *MemberType.choices]  # type: ignore[attr-defined]
        self.fields["organisation"].choices = [("", _("全部")), *((o.pk, o.name) for o in orgs)]  # type: ignore[attr-defined]
        self.fields["service_post"].choices = [("", _("全部")), *((p.pk, p.name) for p in posts)]  # type: ignore[attr-defined]


@policy.page("party.view_organisations")
def org_tree(request: HttpRequest) -> HttpResponse:
    return render(request, "party/org_tree.html", {"roots": services.organisation_tree(request.user)})


@policy.page("party.list_members")
def member_list(request: HttpRequest) -> HttpResponse:
    orgs = list(services.visible_organisations(request.user).only("pk", "name", "path").order_by("path"))
    posts = list(services.visible_service_posts(request.user))
    form = MemberFilterForm(request.GET or None, orgs=orgs, posts=posts)
    data = form.cleaned_data if form.is_valid() else {}
    organisation = next((o for o in orgs if o.pk == data.get("organisation")), None)
    qs = services.member_list(
        request.user,
        member_type=data.get("member_type", ""),
        organisation=organisation,
        service_post_id=data.get("service_post"),
        q=data.get("q", ""),
    )
    page = CappedPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode([(k, v) for k, vs in request.GET.lists() if k != "page" for v in vs])
    return render(request, "party/member_list.html", {"form": form, "page": page, "query": query})


@policy.page("party.view_co_building_units")
def co_building_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "party/co_building_list.html", {"units": services.visible_co_building_units(request.user)}
    )


@policy.page("party.view_co_building_units", model="party.CoBuildingUnit")
def co_building_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = policy.get_or_deny(
        services.visible_co_building_units(request.user), request.user, "party.view_co_building_units", pk=pk
    )
    members: list[PartyMember] = list(services.member_list(request.user, employer_id=unit.pk)[:500])
    return render(
        request,
        "party/co_building_detail.html",
        {"unit": unit, "members": members, "communities": unit.communities.order_by("name")},
    )
