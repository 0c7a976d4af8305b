"""Likely duplicates at intake: same building or nearby, same category, similar text, recent, open, in scope."""

from __future__ import annotations

import datetime as dt

from django.test import override_settings
from django.utils import timezone

from tongxin.cases import duplicates, services
from tongxin.cases.models import Case, Category
from tongxin.cases.tests import core_fixtures


def new_case(world, **kw):
    """A case submitted now (the duplicate window is relative to the present)."""
    kw.setdefault("now", timezone.now())
    return core_fixtures.new_case(world, **kw)


def test_text_similarity_and_distance_helpers():
    assert duplicates.jaccard(duplicates.bigrams("楼顶漏水"), duplicates.bigrams("楼顶漏水了")) > 0.5
    assert duplicates.jaccard(duplicates.bigrams("楼顶漏水"), duplicates.bigrams("垃圾清运")) == 0
    # 0.001° of latitude is about 111 m
    assert 100 < duplicates.distance_m(30.0, 113.0, 30.001, 113.0) < 120


@override_settings(CASES_DUPLICATE_DAYS=7, CASES_DUPLICATE_RADIUS_M=300)
def test_likely_duplicates_rules(world):
    staff = world.users["staff_a"]
    leak = Category.objects.get(service_code="repairs-leak")
    b3 = world.dwellings["a1"].building
    # given: a similar open leak in the same building (the duplicate) ...
    same = new_case(world, description="3栋楼顶漏水，天花板滴水")
    # ... a similar leak that is already resolved, one in another category, one with unrelated text,
    resolved = new_case(world, description="3栋楼顶漏水，天花板滴水了")
    services.accept(resolved.pk, staff)
    services.resolve(resolved.pk, staff, "已修好")
    new_case(world, code="environment", description="3栋楼顶漏水，天花板滴水")
    new_case(world, description="门口的路灯不亮")
    # ... an old one (outside the 7 days) and one in another community (out of staff_a's scope)
    old = new_case(world, description="3栋楼顶漏水，天花板滴水", now=timezone.now() - dt.timedelta(days=10))
    far = new_case(world, key="b1", description="3栋楼顶漏水，天花板滴水")
    # and a nearby one located by coordinates only, 100 m from building 3
    Case.objects.filter(pk=far.pk).update(latitude=30.001, longitude=113.0)
    b3.latitude, b3.longitude = 30.0, 113.0
    # when staff_a looks for duplicates of a new report at building 3
    found = duplicates.likely_duplicates(
        staff, text="楼顶漏水 天花板在滴水", category=leak, building=b3, dwelling=world.dwellings["a1"]
    )
    # then only the similar, open, recent case in the same category and in scope is proposed
    assert [d.case.pk for d in found] == [same.pk]
    assert found[0].reason == "dwelling" and found[0].similarity > 0.3
    assert old.pk not in [d.case.pk for d in found]
    # the subdistrict admin also sees the nearby case of the other community, found by distance
    admin_found = duplicates.likely_duplicates(
        world.users["admin"], text="楼顶漏水 天花板在滴水", category=leak, building=b3
    )
    ids = [d.case.pk for d in admin_found]
    assert ids[0] == same.pk and far.pk in ids
    nearby = next(d for d in admin_found if d.case.pk == far.pk)
    assert nearby.reason == "nearby" and 100 < nearby.distance_m < 120
    # no location at all: nothing to compare with
    assert duplicates.likely_duplicates(staff, text="漏水", category=leak) == []
