"""Staff pages of the party organisation: the tree, the member list, co-building units (大党委), and the writes staff
make: a member's 双报到 (including cadres living elsewhere), a unit's 报到 with its lists, joint meetings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongxin.core import policy
from tongxin.core.pagination import CappedPaginator
from tongxin.party import services
from tongxin.party.choices import MemberType
from tongxin.party.models import CoBuildingUnit, JointMeeting, PartyMember
from tongxin.regions.models import Region
from tongxin.regions.policy import community_ids

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
    if request.method == "POST":
        p = request.POST
        community = Region.objects.filter(
            pk__in=community_ids(request.user), pk=_int(p.get("community"))
        ).first()
        if community is None:
            messages.error(request, gettext("请选择社区"))
        else:
            _run(
                request,
                lambda: services.record_unit_report_in(
                    request.user,
                    unit=unit,
                    community=community,
                    resources=p.get("resources", ""),
                    needs=p.get("needs", ""),
                    projects=p.get("projects", ""),
                ),
                gettext("已登记单位报到"),
            )
        return redirect("party:co_building_detail", pk=unit.pk)
    members: list[PartyMember] = list(services.member_list(request.user, employer_id=unit.pk)[:500])
    ids = community_ids(request.user)
    return render(
        request,
        "party/co_building_detail.html",
        {
            "unit": unit,
            "members": members,
            "communities": unit.communities.order_by("name"),
            "report_ins": unit.report_ins.filter(community_id__in=ids).select_related("community"),
            "meetings": unit.joint_meetings.filter(community_id__in=ids).order_by("-held_on")[:20],
            "my_communities": Region.objects.filter(pk__in=ids).order_by("path"),
        },
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _run(request: HttpRequest, fn: Any, success: str) -> Any:
    try:
        result = fn()
    except ValidationError as exc:
        messages.error(request, " ".join(str(m) for m in exc.messages))
        return None
    except policy.PolicyDenied as exc:
        if exc.decision is policy.Decision.NOT_FOUND:
            raise Http404 from exc
        raise PermissionDenied(exc.message) from exc
    messages.success(request, success)
    return result


class RegisterForm(forms.Form):
    community = forms.ModelChoiceField(label=_("报到社区"), queryset=Region.objects.none())
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    member_type = forms.ChoiceField(
        label=_("党员类型"), choices=MemberType.choices, initial=MemberType.DUAL_REGISTERED
    )
    sinking_cadre = forms.BooleanField(label=_("下沉干部（不住在本社区）"), required=False)
    employer = forms.ModelChoiceField(
        label=_("工作单位（共建单位）"), queryset=CoBuildingUnit.objects.none(), required=False
    )
    employer_name = forms.CharField(label=_("工作单位（其他）"), max_length=100, required=False)
    post_title = forms.CharField(label=_("单位职务"), max_length=50, required=False)
    skills = forms.CharField(label=_("特长"), max_length=200, required=False)
    reported_in_on = forms.DateField(
        label=_("报到日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = community_ids(user)
        self.fields["community"].queryset = Region.objects.filter(pk__in=ids).order_by("path")  # type: ignore[attr-defined]
        self.fields["employer"].queryset = (  # type: ignore[attr-defined]
            CoBuildingUnit.objects.filter(communities__in=ids).distinct().order_by("name")
        )


@policy.page("party.register_member")
def register_member(request: HttpRequest) -> HttpResponse:
    """Record a member's 双报到: a resident of the community is found by id number; a cadre who lives elsewhere
    is registered as a person without a dwelling, belonging to the community he serves."""
    form = RegisterForm(
        request.POST or None, user=request.user, initial={"reported_in_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        member = _run(
            request,
            lambda: services.register_member(
                request.user,
                community=d["community"],
                member_type=d["member_type"],
                name=d["name"],
                id_number=d["id_number"],
                phone=d["phone"],
                skills=d["skills"],
                employer=d["employer"],
                employer_name=d["employer_name"],
                post_title=d["post_title"],
                sinking_cadre=d["sinking_cadre"],
                reported_in_on=d["reported_in_on"],
            ),
            gettext("已登记报到"),
        )
        if member is not None:
            return redirect(f"{_member_list_url()}?q={member.resident.name}")
    return render(request, "party/register_member.html", {"form": form})


def _member_list_url() -> str:
    from django.urls import reverse

    return reverse("party:member_list")


@policy.page("party.view_co_building_units")
def joint_meetings(request: HttpRequest) -> HttpResponse:
    """The 大党委's joint meetings of the user's communities; staff record one with the units that came."""
    ids = community_ids(request.user)
    units = list(services.visible_co_building_units(request.user))
    if request.method == "POST":
        p = request.POST
        community = Region.objects.filter(pk__in=ids, pk=_int(p.get("community"))).first()
        chosen = [u for u in units if str(u.pk) in p.getlist("units")]
        held_on = None
        try:
            held_on = dt.date.fromisoformat(p.get("held_on", ""))
        except ValueError:
            messages.error(request, gettext("请填写召开日期"))
        if community is None:
            messages.error(request, gettext("请选择社区"))
        elif held_on is not None:
            _run(
                request,
                lambda: services.record_joint_meeting(
                    request.user,
                    community=community,
                    held_on=held_on,
                    topic=p.get("topic", ""),
                    units=chosen,
                    decisions=p.get("decisions", ""),
                ),
                gettext("已登记联席会议"),
            )
        return redirect("party:joint_meetings")
    meetings = (
        JointMeeting.objects.filter(community_id__in=ids)
        .select_related("community")
        .prefetch_related("units")
        .order_by("-held_on", "-pk")[:100]
    )
    return render(
        request,
        "party/joint_meetings.html",
        {
            "meetings": meetings,
            "units": units,
            "communities": Region.objects.filter(pk__in=ids).order_by("path"),
            "today": timezone.localdate(),
        },
    )
