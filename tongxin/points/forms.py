from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


class WeighInForm(forms.Form):
    household = forms.IntegerField(label=_("家庭编号"), min_value=1)
    waste_type = forms.IntegerField(label=_("类别"), widget=forms.Select)
    kg = forms.DecimalField(label=_("重量(公斤)"), min_value=Decimal("0.01"), max_value=500, decimal_places=2)
    collection_point = forms.IntegerField(label=_("回收点"), widget=forms.Select, required=False)
    # A form token so that a double-submitted form credits once.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class RewardForm(forms.Form):
    name = forms.CharField(label=_("商品"), max_length=60)
    price = forms.DecimalField(label=_("所需积分"), min_value=Decimal("0.01"), decimal_places=2)
    stock = forms.IntegerField(label=_("库存"), min_value=0)


class RedeemForm(forms.Form):
    household = forms.IntegerField(label=_("家庭编号"), min_value=1)
    reward = forms.IntegerField(label=_("商品"), widget=forms.Select)
    quantity = forms.IntegerField(label=_("数量"), min_value=1, max_value=20, initial=1)
