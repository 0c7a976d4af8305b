"""Rows for the route walker: a mediator and a dispute in grid 1 (community A, first) and in grid 3 (B, last)."""

from __future__ import annotations

from typing import Any

from tongxin.mediation import services
from tongxin.mediation.choices import DisputeKind, DisputeSource, MediatorKind


def make(world: Any) -> None:
    for staff, community, grid in (
        (world.users["staff_a"], world.community_a, world.grid_1),
        (world.users["staff_b"], world.community_b, world.grid_3),
    ):
        mediator = services.add_mediator(
            staff, community=community, kind=MediatorKind.LEGAL_ADVISER, name="刘律师"
        )
        d = services.register(
            staff,
            title="楼上漏水",
            description="楼上卫生间漏水到楼下",
            kind=DisputeKind.NEIGHBOURS,
            source=DisputeSource.PATROL,
            grid=grid,
            parties=[
                {"role": "applicant", "name": "张三", "phone": "13900001234"},
                {"role": "respondent", "name": "李四"},
            ],
        )
        services.assign(staff, d, mediator)
