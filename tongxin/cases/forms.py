"""Forms of the resident pages, the workbench actions and the hotline intake screen (input parsing only)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.cases.choices import STAFF_CHANNELS, CaseState, Channel, Rating
from tongxin.cases.models import DESCRIPTION_MAX, Category

PHOTO_MAX_BYTES = 8 * 1024 * 1024


def active_categories() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Category.objects.filter(active=True).order_by("sort_order", "id"),
        label=_("类别"),
        to_field_name="service_code",
    )


MAX_PHOTOS = 9


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.ImageField):
    """Several images in one field (``<input type=file multiple>``); each is checked like an ImageField."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", MultipleImageInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self, data: object, initial: object = None) -> list[object]:  # type: ignore[override]
        single = super().clean
        items = data if isinstance(data, list | tuple) else [data] if data else []
        return [single(d, initial) for d in items if d]


class ResidentCaseForm(forms.Form):
    WHERE = (("home", _("我家")), ("map", _("地图选点")), ("address", _("填写地址")))

    category = active_categories()
    where = forms.ChoiceField(label=_("位置"), choices=WHERE, initial="home")
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    description = forms.CharField(label=_("问题描述"), max_length=DESCRIPTION_MAX, widget=forms.Textarea)
    photo = forms.ImageField(label=_("照片"), required=False)  # one photo (older clients)
    photos = MultipleImageField(label=_("照片"), required=False)

    def clean_photo(self) -> object:
        photo = self.cleaned_data.get("photo")
        if photo is not None and photo.size > PHOTO_MAX_BYTES:
            raise forms.ValidationError(_("照片不能超过8MB"))
        return photo

    def clean_photos(self) -> list[object]:
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > MAX_PHOTOS:
            raise forms.ValidationError(_("最多上传%(n)d张照片") % {"n": MAX_PHOTOS})
        if any(getattr(p, "size", 0) > PHOTO_MAX_BYTES for p in photos):
            raise forms.ValidationError(_("照片不能超过8MB"))
        return photos

    def all_photos(self) -> list[object]:
        data = self.cleaned_data
        return [*([data["photo"]] if data.get("photo") else []), *data.get("photos", [])][:MAX_PHOTOS]

    def clean(self) -> dict:
        data = super().clean() or {}
        where = data.get("where")
        if where == "map" and (data.get("latitude") is None or data.get("longitude") is None):
            self.add_error("where", _("请在地图上点选位置"))
        if where == "address" and not (data.get("address") or "").strip():
            self.add_error("address", _("请填写地址"))
        return data


class SuggestionBoxForm(forms.Form):
    description = forms.CharField(label=_("意见建议"), max_length=DESCRIPTION_MAX, widget=forms.Textarea)
    address = forms.CharField(label=_("地点(选填)"), max_length=200, required=False)
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(active=True).order_by("sort_order", "id"),
        label=_("类别(选填)"),
        to_field_name="service_code",
        required=False,
    )


class ReceiptForm(forms.Form):
    number = forms.CharField(label=_("工单号"), max_length=20)
    code = forms.CharField(label=_("查询码"), max_length=12)


class RateForm(forms.Form):
    rating = forms.ChoiceField(label=_("评价"), choices=Rating.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("评价意见"), max_length=500, required=False)


class NotFixedForm(forms.Form):
    reason = forms.CharField(label=_("未解决的原因"), max_length=500, widget=forms.Textarea)


class QueueFilterForm(forms.Form):
    grid = forms.IntegerField(required=False)
    category = forms.CharField(required=False)
    state = forms.ChoiceField(required=False, choices=[("", ""), *list(CaseState.choices)])
    channel = forms.ChoiceField(required=False, choices=[("", ""), *list(Channel.choices)])
    q = forms.CharField(required=False, max_length=40)
    mine = forms.BooleanField(required=False)


class IntakeForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("渠道"),
        choices=[(c, Channel(c).label) for c in STAFF_CHANNELS],
        initial=Channel.HOTLINE,
        widget=forms.RadioSelect,
        required=False,  # not sent: the screen's preselected channel (see views._intake_channel)
    )
    phone = forms.CharField(label=_("来电号码"), max_length=20, required=False)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)
    dwelling = forms.IntegerField(required=False, widget=forms.HiddenInput)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    description = forms.CharField(label=_("诉求内容"), max_length=DESCRIPTION_MAX, widget=forms.Textarea)
    category = active_categories()
    suggested = forms.CharField(required=False, widget=forms.HiddenInput)
    # 登记并派单: "" records only; grid / company / round_robin / department:<id> (services.dispatch_at_intake)
    dispatch_to = forms.CharField(required=False, max_length=40)
