from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.volunteers.choices import ActivityKind, Eligibility

DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ActivityForm(forms.Form):
    title = forms.CharField(label=_("活动名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"), choices=ActivityKind.choices)
    place = forms.CharField(label=_("地点"), max_length=100)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DT)
    ends_at = forms.DateTimeField(label=_("结束时间"), widget=DT)
    capacity = forms.IntegerField(label=_("名额"), min_value=1, max_value=10000)
    organiser_unit = forms.IntegerField(label=_("主办共建单位"), widget=forms.Select, required=False)
    eligibility = forms.ChoiceField(label=_("报名范围"), choices=Eligibility.choices)
    eligible_unit = forms.IntegerField(label=_("指定单位"), widget=forms.Select, required=False)
    hours = forms.DecimalField(label=_("计时(小时)"), min_value=Decimal("0"), max_value=24, decimal_places=2)
    points = forms.DecimalField(
        label=_("奖励积分"), min_value=Decimal("0"), max_value=10000, decimal_places=2, initial=0
    )
    description = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class ShiftForm(forms.Form):
    member = forms.IntegerField(label=_("党员"), widget=forms.Select)
    starts_at = forms.DateTimeField(label=_("开始"), widget=DT)
    ends_at = forms.DateTimeField(label=_("结束"), widget=DT)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("签到码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]{6}"}),
    )
