"""The 直通车 shop: goods at cost, stock taken in the order's transaction, free delivery for residents aged 60
and over (age from the registry), the others collect; staff record delivery by a volunteer or merchant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tongxin.core.policy import PolicyDenied
from tongxin.doorstep import services
from tongxin.doorstep.models import ShopItem
from tongxin.doorstep.services import DoorstepError
from tongxin.people.models import Resident


@pytest.fixture
def goods(hall):
    w = hall.world
    soap = ShopItem.objects.create(
        community=w.community_a, name="洗衣粉", unit="500克", price=Decimal("0.92"), stock=5
    )
    oil = ShopItem.objects.create(
        community=w.community_a, name="食用油", unit="5升", price=Decimal("45.00"), stock=1
    )
    return soap, oil


def test_an_elderly_resident_gets_free_delivery_and_stock_is_taken(hall, goods):
    soap, oil = goods
    w = hall.world
    Resident.objects.filter(pk=w.residents["a1"].pk).update(birth_date=dt.date(1950, 3, 1))
    order = services.place_shop_order(w.users["resident"], {soap.pk: 2, oil.pk: 1}, delivery=True)
    assert order.total == Decimal("46.84") and order.delivery
    soap.refresh_from_db()
    oil.refresh_from_db()
    assert (soap.stock, oil.stock) == (3, 0)
    with pytest.raises(DoorstepError) as err:  # out of stock
        services.place_shop_order(w.users["resident"], {oil.pk: 1})
    assert "食用油" in str(err.value)
    with pytest.raises(DoorstepError):  # a volunteer or merchant delivered it: who?
        services.close_shop_order(w.users["staff_a"], order, to="delivered")
    services.close_shop_order(w.users["staff_a"], order, to="delivered", deliverer="志愿者赵六")
    with pytest.raises(PolicyDenied):
        services.close_shop_order(w.users["staff_b"], order, to="cancelled")


def test_younger_residents_collect_and_a_cancelled_order_returns_the_stock(hall, goods):
    soap, _oil = goods
    w = hall.world
    Resident.objects.filter(pk=w.residents["a1"].pk).update(birth_date=dt.date(1990, 3, 1))
    with pytest.raises(DoorstepError) as err:
        services.place_shop_order(w.users["resident"], {soap.pk: 1}, delivery=True)
    assert "60岁" in str(err.value)
    order = services.place_shop_order(w.users["resident"], {soap.pk: 4})
    services.close_shop_order(w.users["staff_a"], order, to="cancelled")
    soap.refresh_from_db()
    assert soap.stock == 5


def test_shop_pages(hall, goods):
    w = hall.world
    r = w.client("resident").get(reverse("doorstep:my_shop"))
    assert r.status_code == 200 and "洗衣粉" in r.content.decode()
    assert w.client("staff_a").get(reverse("doorstep:shop")).status_code == 200
    assert w.client("property").get(reverse("doorstep:shop")).status_code == 404
    r = w.client("resident").post(reverse("doorstep:my_shop"), {f"q{goods[0].pk}": "2"})
    assert r.status_code == 302
