from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.notices.choices import PROXY_CHANNELS, Action, Audience, LeaderRole, ReceiptChannel
from tongxin.people.choices import TagSensitivity
from tongxin.people.models import Tag
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Grid, Region


class RegionChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_kind_display()} · {obj.name}"


class NoticeForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=100)
    body = forms.CharField(label=_("正文"), widget=forms.Textarea(attrs={"rows": 6}))
    target = RegionChoice(label=_("发送范围"), queryset=Region.objects.none())
    target_grid = forms.ModelChoiceField(label=_("只发网格"), queryset=Grid.objects.none(), required=False)
    audience = forms.ChoiceField(label=_("对象"), choices=Audience.choices, initial=Audience.HOUSEHOLDS)
    tags = forms.ModelMultipleChoiceField(
        label=_("标签"),
        queryset=Tag.objects.exclude(sensitivity=TagSensitivity.RESTRICTED),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    action = forms.ChoiceField(label=_("回执要求"), choices=Action.choices, initial=Action.CONFIRM)
    reply_fields = forms.CharField(
        label=_("回执栏目（每行一个）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("填写回执或报名时才需要，如“在家人数”"),
    )
    deadline = forms.DateTimeField(
        label=_("回执截止"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    attachment = forms.FileField(label=_("附件"), required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        places = Region.objects.visible_to(user).filter(
            kind__in=[RegionKind.SUBDISTRICT, RegionKind.COMMUNITY, RegionKind.ESTATE, RegionKind.BUILDING]
        )
        self.fields["target"].queryset = places.order_by("path")  # type: ignore[attr-defined]
        self.fields["target_grid"].queryset = Grid.objects.visible_to(user).order_by("code")  # type: ignore[attr-defined]

    def clean_deadline(self) -> Any:
        value = self.cleaned_data.get("deadline")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class ReplyForm(forms.Form):
    """The household's reply: one text field per label of the notice's reply form."""

    def __init__(self, *args: Any, fields: list[dict[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in fields or []:
            self.fields[f["key"]] = forms.CharField(label=f["label"], max_length=200)


class ProxyForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("方式"), choices=[c for c in ReceiptChannel.choices if c[0] in PROXY_CHANNELS]
    )


class AssignForm(forms.Form):
    role = forms.ChoiceField(label=_("职责"), choices=LeaderRole.choices)
    place = forms.TypedChoiceField(label=_("楼栋/单元"), coerce=int)
    resident = forms.TypedChoiceField(label=_("居民"), coerce=int)
    floor = forms.IntegerField(label=_("楼层"), required=False, min_value=-5, max_value=120)
    cadre = forms.BooleanField(label=_("下沉干部（双楼长）"), required=False)

    def __init__(
        self, *args: Any, places: list[tuple[int, str]], residents: list[tuple[int, str]], **kw: Any
    ):
        super().__init__(*args, **kw)
        self.fields["place"].choices = places  # type: ignore[attr-defined]
        self.fields["resident"].choices = residents  # type: ignore[attr-defined]
