"""Mediation demo rows: mediators (the 矛盾调解 post's members, a co-building unit's legal adviser — seed 004 gives
the community one) and a dispute register per grid with open and closed disputes, one handed over from a case."""

from __future__ import annotations

import random
from typing import Any

from tongxin.core.models import User
from tongxin.mediation import services
from tongxin.mediation.choices import DisputeKind, DisputeSource, MediatorKind
from tongxin.mediation.models import Mediator
from tongxin.regions.models import Grid, Region

DISPUTES = (
    (
        DisputeKind.NEIGHBOURS,
        "楼上漏水殃及楼下",
        "卫生间防水层破损，楼下天花板霉变，双方就维修费用争执。",
        "session",
    ),
    (DisputeKind.NEIGHBOURS, "广场舞噪音扰民", "晚间广场舞音响声音过大，临街住户多次投诉。", "registered"),
    (DisputeKind.PROPERTY, "物业费与停车费争议", "业主认为车位被占用，拒交物业费。", "agreed"),
    (DisputeKind.FAMILY, "赡养老人纠纷", "三兄妹对母亲赡养费分担意见不一。", "closed"),
    (DisputeKind.LABOUR, "装修工人工钱拖欠", "装修队拖欠两名工人工钱共4800元。", "failed"),
)


def load(rng: random.Random, out: Any) -> None:
    if Mediator.objects.exists():
        out.write("mediation demo already loaded")
        return
    n = 0
    for community_name, username in (("满庭春社区", "mtc"), ("大新社区", "daxin")):
        community = Region.objects.filter(kind="community", name=community_name).first()
        staff = User.objects.filter(username=username).first()
        if community is None or staff is None:
            continue
        lawyer = services.add_mediator(
            staff,
            community=community,
            kind=MediatorKind.LEGAL_ADVISER,
            name="刘明律师",
            organisation="仙桃正信律师事务所",
        )
        member = User.objects.filter(username="dangyuan").first() if community_name == "满庭春社区" else None
        post = services.add_mediator(
            staff, community=community, kind=MediatorKind.POST, name="矛盾调解岗党员", user=member
        )
        grids = list(Grid.objects.filter(community=community).order_by("code"))
        for i, (kind, title, text, end) in enumerate(DISPUTES):
            grid = grids[i % len(grids)]
            d = services.register(
                staff,
                title=title,
                description=text,
                kind=kind,
                source=rng.choice([DisputeSource.PATROL, DisputeSource.WALK_IN]),
                grid=grid,
                parties=[
                    {"role": "applicant", "name": "申请人甲"},
                    {"role": "respondent", "name": "被申请人乙"},
                ],
            )
            n += 1
            if end == "registered":
                continue
            services.assign(staff, d, lawyer if kind == DisputeKind.LABOUR else post)
            services.record_session(staff, d, notes="双方到场陈述，调解员释法说理。", location="社区调解室")
            if end == "failed":
                services.record_failure(staff, d, reason="一方拒绝调解，已告知可申请劳动仲裁")
                continue
            if end in ("agreed", "closed"):
                services.record_agreement(staff, d, text="双方自愿达成如下协议：……")
            if end == "closed":
                services.follow_up(staff, d, kept=True, notes="回访：协议已履行，双方满意")
    out.write(f"mediation demo: {n} disputes on the registers")
