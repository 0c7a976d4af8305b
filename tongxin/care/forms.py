from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.care.choices import FollowUp, HealthKind, PlanKind
from tongxin.people.choices import TagSensitivity
from tongxin.people.models import Tag
from tongxin.regions.models import Grid, Region


class VisitForm(forms.Form):
    findings = forms.CharField(label=_("走访情况"), widget=forms.Textarea(attrs={"rows": 4}))
    follow_up = forms.ChoiceField(label=_("跟进"), choices=FollowUp.choices, initial=FollowUp.NONE)
    category = forms.ChoiceField(label=_("诉求类别（转为诉求时）"), required=False)
    photo = forms.FileField(
        label=_("照片"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, *args: Any, categories: list[tuple[str, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]


class PlanForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    community = forms.ModelChoiceField(label=_("社区"), queryset=Region.objects.none())
    grid = forms.ModelChoiceField(label=_("网格"), queryset=Grid.objects.none(), required=False)
    kind = forms.ChoiceField(label=_("对象"), choices=PlanKind.choices)
    tag = forms.ModelChoiceField(
        label=_("标签"), queryset=Tag.objects.exclude(sensitivity=TagSensitivity.RESTRICTED), required=False
    )
    interval_days = forms.IntegerField(label=_("周期(天)"), min_value=1, max_value=366, initial=7)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = Region.objects.visible_to(user).filter(kind="community")  # type: ignore[attr-defined]
        self.fields["grid"].queryset = Grid.objects.visible_to(user)  # type: ignore[attr-defined]


class HealthForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=HealthKind.choices)
    title = forms.CharField(label=_("名称"), max_length=100)
    description = forms.CharField(label=_("内容"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    community = forms.ModelChoiceField(label=_("社区"), queryset=Region.objects.none())
    place = forms.CharField(label=_("地点"), max_length=100, required=False)
    starts_at = forms.DateTimeField(
        label=_("时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    capacity = forms.IntegerField(label=_("名额"), min_value=1, initial=30)
    tags = forms.ModelMultipleChoiceField(
        label=_("限标签"),
        queryset=Tag.objects.exclude(sensitivity=TagSensitivity.RESTRICTED),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    min_age = forms.IntegerField(label=_("最低年龄"), required=False, min_value=0, max_value=120)
    max_age = forms.IntegerField(label=_("最高年龄"), required=False, min_value=0, max_value=120)
    gender = forms.ChoiceField(
        label=_("性别"), required=False, choices=[("", _("不限")), ("M", _("男")), ("F", _("女"))]
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = Region.objects.visible_to(user).filter(kind="community")  # type: ignore[attr-defined]
