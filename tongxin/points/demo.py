"""Demo rows for points: waste types and collection points per community, the rewards shop (soap, laundry
liquid, bin bags, rice), exchange on the 6th, and two months of weigh-ins for a sample of households."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from tongxin.people.models import Household
from tongxin.points import services
from tongxin.points.models import CollectionPoint, PointRule, PointsPolicy, Reward, WasteType
from tongxin.regions.models import Region

WASTE = (
    ("recyclable", "可回收物", "5"),
    ("paper", "纸板", "8"),
    ("kitchen", "厨余垃圾", "2"),
    ("hazardous", "有害垃圾", "20"),
)
REWARDS = (("垃圾袋(1卷)", "10", 200), ("肥皂", "20", 100), ("洗衣液", "60", 40), ("大米(5斤)", "120", 20))
RULES = (("good_deed", "好人好事", "20"), ("volunteer", "志愿服务", "10"), ("clean_stairs", "楼道保洁", "5"))


def load(rng: random.Random, out: Any) -> None:
    if Reward.objects.exists():
        out.write("points demo already loaded")
        return

    n = 0
    for community in Region.objects.filter(kind="community").order_by("pk"):
        PointsPolicy.objects.get_or_create(community=community, defaults={"exchange_day": 6})
        types = [
            WasteType.objects.create(community=community, code=c, name=nm, rate=Decimal(r))
            for c, nm, r in WASTE
        ]
        for code, name, pts in RULES:
            PointRule.objects.create(community=community, code=code, name=name, points=Decimal(pts))
        for name, price, stock in REWARDS:
            Reward.objects.create(community=community, name=name, price=Decimal(price), stock=stock)
        estates = list(Region.objects.filter(parent=community, kind="estate").order_by("pk"))
        points = [
            CollectionPoint.objects.create(community=community, estate=e, name=f"{e.name}分类回收点")
            for e in estates
        ]
        households = list(
            Household.objects.filter(dwelling__community=community, ended_on__isnull=True)
            .select_related(
                "dwelling__community", "dwelling__estate", "dwelling__building", "dwelling__entrance"
            )
            .order_by("pk")
        )
        jumin = (
            Household.objects.filter(residents__user__username="jumin")
            .select_related("dwelling__community")
            .first()
        )
        sample = rng.sample(households, min(30, len(households)))
        if jumin is not None and jumin.dwelling.community_id == community.pk and jumin not in sample:
            sample.append(jumin)
        for hh in sample:
            for k in range(rng.randint(1, 3)):
                services.record_weigh_in(
                    hh,
                    rng.choice(types),
                    Decimal(rng.choice(["0.8", "1.2", "2.5", "3", "4.6"])),
                    idempotency_key=f"demo:{hh.pk}:{k}",
                    collection_point=rng.choice(points) if points else None,
                )
                n += 1
    out.write(f"points: {n} weigh-ins")
