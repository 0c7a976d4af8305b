"""Forms of the sensors pages: register a device, change its thresholds and owner, record a care visit."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.core import policy
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Department, Dwelling, PropertyCompany, Region
from tongxin.sensors.models import Device

THRESHOLDS = ("low", "high", "rate_per_minute", "silence_minutes", "recover_after")


class DeviceForm(forms.ModelForm):
    """Register a device: where it is (an estate, building or entrance; a meter also names its flat), what it
    is, its thresholds (empty: the kind's defaults) and who maintains it."""

    dwelling_number = forms.CharField(
        label=_("房号"), max_length=20, required=False, help_text=_("户表：所在单元下的房号，如 501")
    )

    class Meta:
        model = Device
        fields = (
            "serial",
            "name",
            "kind",
            "place",
            "region",
            "latitude",
            "longitude",
            *THRESHOLDS,
            "property_company",
            "department",
            "category",
        )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        regions = Region.objects.filter(
            kind__in=[RegionKind.ESTATE, RegionKind.BUILDING, RegionKind.ENTRANCE]
        ).order_by("path")
        region = cast(forms.ModelChoiceField, self.fields["region"])
        region.queryset = policy.restrict(regions, user, "regions.view_node")
        region.label_from_instance = lambda r: f"{'　' * max(0, r.depth - 2)}{r.name}"  # type: ignore[method-assign,assignment]
        cast(
            forms.ModelChoiceField, self.fields["property_company"]
        ).queryset = PropertyCompany.objects.order_by("name")
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = Department.objects.order_by(
            "subdistrict_id", "name"
        )
        for name in ("low", "high", "rate_per_minute", "silence_minutes"):
            self.fields[name].help_text = _("留空则使用设备类型的默认值")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = (data.get("dwelling_number") or "").strip()
        region = data.get("region")
        if number and region is not None:
            if region.kind != RegionKind.ENTRANCE:
                self.add_error("region", _("户表请选择所在单元"))
            else:
                dwelling = Dwelling.objects.filter(entrance=region, number=number).first()
                if dwelling is None:
                    self.add_error("dwelling_number", _("该单元下没有这个房号"))
                self.instance.dwelling = dwelling
        return data


class ThresholdForm(forms.ModelForm):
    """Change a device's name, place, thresholds, maintenance owner, category or whether it is in service."""

    class Meta:
        model = Device
        fields = (
            "name",
            "place",
            *THRESHOLDS,
            "property_company",
            "department",
            "category",
            "active",
            "latitude",
            "longitude",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        device = self.instance
        cast(
            forms.ModelChoiceField, self.fields["property_company"]
        ).queryset = PropertyCompany.objects.filter(estates=device.estate_id).order_by("name")
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = Department.objects.filter(
            subdistrict_id=device.subdistrict_id
        ).order_by("name")


class CareVisitForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("结果"),
        choices=[("visited", _("已上门/电话确认")), ("dismissed", _("核实无需走访"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("情况记录"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
