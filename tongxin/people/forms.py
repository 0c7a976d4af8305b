"""Forms of the registry pages. They only parse input; the rules live in :mod:`tongxin.people.services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.utils.translation import gettext_lazy as _

from tongxin.people.choices import IdKind, Relation, ResidenceStatus
from tongxin.people.policy import visible_tags
from tongxin.regions.address import resolve_address
from tongxin.regions.models import Dwelling, Grid
from tongxin.regions.services import reachable

PAGE_SIZE = 50


def member_type_choices() -> list[tuple[str, str]]:
    # Read from the party model's field so people does not import the party app (apps depend downward only).
    field = apps.get_model("party", "PartyMember")._meta.get_field("member_type")
    return list(field.choices or [])


def tag_choices(user: Any) -> list[tuple[str, str]]:
    """The tags ``user`` may see, set and filter by (people/policy.py)."""
    return [(t.code, t.name) for t in visible_tags(user)]


class ResidentFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("姓名、证件或电话后4位、地址如 锦绣江山3栋2单元501")}),
    )
    tag = forms.MultipleChoiceField(label=_("标签"), required=False)
    residence_status = forms.ChoiceField(label=_("人口类型"), required=False)
    member_type = forms.ChoiceField(label=_("党员类型"), required=False)
    grid = forms.TypedChoiceField(label=_("网格"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[
            ("active", _("在住")),
            ("moved_out", _("已迁出")),
            ("deceased", _("已故")),
            ("all", _("全部")),
        ],
    )

    def __init__(self, *args: Any, user: Any, grids: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = tag_choices(user)  # type: ignore[attr-defined]
        self.fields["residence_status"].choices = [("", _("全部")), *ResidenceStatus.choices]  # type: ignore[attr-defined]
        self.fields["member_type"].choices = [("", _("全部")), *member_type_choices()]  # type: ignore[attr-defined]
        self.fields["grid"].choices = [("", _("全部")), *((g.pk, g.name) for g in grids)]  # type: ignore[attr-defined]


def resolve_dwelling(text: str, user: Any) -> Dwelling:
    """Find the dwelling an address names among the places the user sees, or raise a form error."""
    # Estates above the user's buildings count too: a grid worker sees buildings, not whole estates.
    place = resolve_address(text, reachable(user))
    dwelling = place.dwelling
    if dwelling is None or not Dwelling.objects.visible_to(user).filter(pk=dwelling.pk).exists():  # type: ignore[attr-defined]
        raise forms.ValidationError(_("找不到这个房屋，请写成“小区+楼栋+单元+房号”，如 锦绣江山3栋2单元501"))
    return dwelling  # type: ignore[return-value]


class ResidentForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_kind = forms.ChoiceField(label=_("证件类型"), choices=IdKind.choices, initial=IdKind.ID_CARD)
    id_number = forms.CharField(
        label=_("证件号码"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("联系电话"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    residence_status = forms.ChoiceField(label=_("人口类型"), choices=ResidenceStatus.choices)
    skills = forms.CharField(label=_("特长"), required=False, max_length=200)
    tags = forms.MultipleChoiceField(label=_("标签"), required=False, widget=forms.CheckboxSelectMultiple)
    address = forms.CharField(label=_("住址"), max_length=60, help_text=_("如 锦绣江山3栋2单元501"))
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices, initial=Relation.HEAD)
    start_household = forms.BooleanField(label=_("另立新户（本人为户主）"), required=False)

    def __init__(self, *args: Any, user: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.editing = editing
        self.fields["tags"].choices = tag_choices(user)  # type: ignore[attr-defined]
        if editing:
            # Personal values are never put back into the form: empty means "keep what is stored".
            for name in ("address", "relation", "start_household"):
                del self.fields[name]
            self.fields["id_number"].help_text = _("留空则不修改")
            self.fields["phone"].help_text = _("留空则不修改")

    def clean_address(self) -> Dwelling:
        return resolve_dwelling(self.cleaned_data["address"], self.user)


class MoveForm(forms.Form):
    address = forms.CharField(label=_("迁入住址"), max_length=60, help_text=_("如 锦绣江山3栋2单元501"))
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices, initial=Relation.OTHER)
    start_household = forms.BooleanField(label=_("另立新户（本人为户主）"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_address(self) -> Dwelling:
        return resolve_dwelling(self.cleaned_data["address"], self.user)


def grid_choices_for(user: Any) -> Any:
    return Grid.objects.visible_to(user).order_by("code")
