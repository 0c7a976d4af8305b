"""Forms of the self-governance pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongxin.assembly.choices import BodyKind, CharterState, Electorate, MeetingKind, MemberRole, OwnersItem
from tongxin.assembly.models import Body, Charter, Matter
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Region
from tongxin.regions.policy import community_ids


def place_choices(user: Any) -> list[tuple[int, str]]:
    """Places the user may raise a matter for: staff — the communities, estates and buildings they work in;
    residents — the estate, building and entrance of their homes."""
    from tongxin.assembly.policy import homes

    if getattr(user, "is_superuser", False) or community_ids(user):
        ids = community_ids(user) if not user.is_superuser else None
        qs = Region.objects.filter(kind__in=[RegionKind.COMMUNITY, RegionKind.ESTATE, RegionKind.BUILDING])
        if ids is not None:
            qs = qs.filter(Q(pk__in=ids) | Q(parent_id__in=ids) | Q(parent__parent_id__in=ids))
        return [(r.pk, "　" * max(r.depth - 1, 0) + r.name) for r in qs.order_by("path")[:500]]
    out: list[tuple[int, str]] = []
    seen: set[int] = set()
    ids = [i for h in homes(user) for i in h[1:]]
    names = dict(Region.objects.filter(pk__in=ids).values_list("pk", "name"))
    for _c, estate, building, entrance in homes(user):
        for pk, label in (
            (estate, names.get(estate, "")),
            (building, f"{names.get(estate, '')}{names.get(building, '')}"),
            (entrance, f"{names.get(estate, '')}{names.get(building, '')}{names.get(entrance, '')}"),
        ):
            if pk not in seen:
                seen.add(pk)
                out.append((pk, label))
    return out


class MatterForm(forms.Form):
    title = forms.CharField(label=_("议题"), max_length=120)
    description = forms.CharField(label=_("情况说明"), widget=forms.Textarea(attrs={"rows": 4}))
    place = forms.TypedChoiceField(label=_("涉及范围"), coerce=int)
    owners_matter = forms.BooleanField(label=_("业主共同决定事项（由业主表决）"), required=False)
    deadline = forms.DateField(
        label=_("征集意见截止"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = place_choices(user)  # type: ignore[attr-defined]

    def clean_place(self) -> Region:
        return Region.objects.get(pk=self.cleaned_data["place"])


class PlanForm(forms.Form):
    where = forms.CharField(label=_("在哪议"), max_length=200)
    what = forms.CharField(label=_("议什么"), widget=forms.Textarea(attrs={"rows": 2}))
    who = forms.CharField(label=_("谁来议"), max_length=300)
    how = forms.CharField(label=_("怎么议"), widget=forms.Textarea(attrs={"rows": 2}))
    carry_out = forms.CharField(label=_("如何实施"), widget=forms.Textarea(attrs={"rows": 2}))
    responsible = forms.CharField(label=_("责任单位"), max_length=100)


class VoteForm(forms.Form):
    title = forms.CharField(label=_("表决事项"), max_length=200)
    electorate = forms.ChoiceField(label=_("表决主体"), choices=Electorate.choices)
    owners_item = forms.ChoiceField(
        label=_("业主共同决定事项"), choices=[("", "—"), *OwnersItem.choices], required=False
    )
    place = forms.TypedChoiceField(label=_("范围"), coerce=int)
    body = forms.ModelChoiceField(
        label=_("议事会（居民代表表决）"), queryset=Body.objects.none(), required=False
    )
    closes_at = forms.DateTimeField(
        label=_("截止时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    charter = forms.ModelChoiceField(
        label=_("表决通过后生效的公约草案"), queryset=Charter.objects.none(), required=False
    )

    def __init__(self, *args: Any, matter: Matter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        places = Region.objects.filter(path__startswith=matter.place.path).exclude(kind=RegionKind.ENTRANCE)
        self.fields["place"].choices = [  # type: ignore[attr-defined]
            (r.pk, r.name) for r in places.order_by("path")[:200]
        ]
        self.fields["body"].queryset = (  # type: ignore[attr-defined]
            Body.objects.filter(community_id=matter.community_id, active=True)
        )
        self.fields["charter"].queryset = Charter.objects.filter(  # type: ignore[attr-defined]
            estate_id=matter.estate_id or 0, state=CharterState.DRAFT
        )
        self.initial.setdefault("title", matter.title)
        self.initial.setdefault("place", matter.place_id)
        if matter.owners_matter:
            self.initial.setdefault("electorate", Electorate.OWNERS)

    def clean_place(self) -> Region:
        return Region.objects.get(pk=self.cleaned_data["place"])


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices)
    title = forms.CharField(label=_("会议名称"), max_length=120)
    starts_at = forms.DateTimeField(
        label=_("时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    location = forms.CharField(label=_("地点"), max_length=100)
    agenda = forms.ModelMultipleChoiceField(
        label=_("议程（议题）"),
        queryset=Matter.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from tongxin.assembly.choices import OPEN_STAGES

        agenda = Matter.objects.filter(community_id__in=community_ids(user), stage__in=OPEN_STAGES)
        recent = list(agenda.order_by("-pk").values_list("pk", flat=True)[:50])
        self.fields["agenda"].queryset = Matter.objects.filter(pk__in=recent).order_by("-pk")  # type: ignore[attr-defined]


def _date(label: Any) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


class BodyForm(forms.Form):
    """Register a self-governing body (an owners' committee belongs to one estate)."""

    kind = forms.ChoiceField(label=_("类型"), choices=BodyKind.choices)
    name = forms.CharField(label=_("名称"), max_length=100)
    community = forms.TypedChoiceField(label=_("社区"), coerce=int)
    estate = forms.TypedChoiceField(
        label=_("小区（业委会必填）"), coerce=int, required=False, empty_value=None
    )
    remit = forms.CharField(label=_("职责"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    term_start = _date(_("任期开始"))
    term_end = _date(_("任期结束"))
    registered_on = _date(_("备案日期"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = community_ids(user)
        communities = Region.objects.filter(kind=RegionKind.COMMUNITY)
        if not getattr(user, "is_superuser", False):
            communities = communities.filter(pk__in=ids)
        rows = list(communities.order_by("path").values_list("pk", "name")[:200])
        self.fields["community"].choices = rows  # type: ignore[attr-defined]
        estates = Region.objects.filter(kind=RegionKind.ESTATE, parent_id__in=[pk for pk, _n in rows])
        self.fields["estate"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *estates.order_by("path").values_list("pk", "name")[:500],
        ]

    def clean_community(self) -> Region:
        return Region.objects.get(pk=self.cleaned_data["community"])

    def clean_estate(self) -> Region | None:
        pk = self.cleaned_data.get("estate")
        return Region.objects.get(pk=pk) if pk else None


class PersonAtForm(forms.Form):
    """A resident found the way staff know him: name and home address."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    address = forms.CharField(
        label=_("住址"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("如 锦绣江山3栋2单元501")}),
    )


class MemberForm(PersonAtForm):
    role = forms.ChoiceField(label=_("职务"), choices=MemberRole.choices, initial=MemberRole.MEMBER)


class OwnerForm(forms.Form):
    """One exclusive part's owner on the owners' roll (业主名册)."""

    address = forms.CharField(
        label=_("专有部分（房屋地址）"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("如 锦绣江山3栋2单元501")}),
    )
    owner_name = forms.CharField(label=_("业主姓名"), max_length=100, required=False)
    is_resident = forms.BooleanField(
        label=_("业主住在该房屋（关联居民档案，可在手机上投票）"), required=False
    )
    developer = forms.BooleanField(label=_("开发商未售出或未交付"), required=False)
    area = forms.DecimalField(
        label=_("登记面积(㎡)，不填按房屋建筑面积"),
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("developer") and not (data.get("owner_name") or "").strip():
            self.add_error("owner_name", _("请填写业主姓名（开发商持有的除外）"))
        if data.get("developer") and data.get("is_resident"):
            self.add_error("is_resident", _("开发商持有的房屋不关联居民"))
        return data
