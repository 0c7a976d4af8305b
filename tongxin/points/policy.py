"""Points' part of the access policy: weigh-ins and awards for households in scope, the rewards shop of the
communities a staff member works in, and each resident's own points and shop (in the community where they live).
The household accounts themselves are the ledger's rules (``ledger.*``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, register
from tongxin.ledger.policy import PARTICIPANTS, InHomeCommunity, resident_of
from tongxin.regions.policy import MANAGERS, REGISTRY, CommunityIn, InScope

HOUSEHOLD = InScope("dwelling__", _("家庭住在本人管辖范围内"))


def _has_household(user: Any, obj: Any) -> bool:
    """Points are a household's: a resident redeems only once they belong to a registered household. (Asked
    without an object — may the user redeem at all? — the answer waits for the object.)"""
    if obj is None:
        return True
    resident = resident_of(user)
    return resident is not None and resident.household_id is not None


register(
    Rule("points.view_home", REGISTRY | PARTICIPANTS, _("进入积分（工作人员称重记分，居民转到本户积分）")),
    Rule("points.record_weigh_in", REGISTRY, _("称重记分（垃圾分类）"), where=HOUSEHOLD),
    Rule("points.award", REGISTRY, _("按积分规则奖励家庭"), where=HOUSEHOLD),
    Rule("points.view_shop", REGISTRY, _("查看积分超市和兑换记录"), where=CommunityIn()),
    Rule("points.add_reward", MANAGERS, _("上架商品"), where=CommunityIn("pk")),
    Rule("points.restock", MANAGERS, _("补货"), where=CommunityIn()),
    Rule("points.redeem_for_household", REGISTRY, _("兑换日为居民家庭兑换商品"), where=HOUSEHOLD),
    Rule("points.view_leaderboards", REGISTRY | PARTICIPANTS, _("查看楼栋、小区积分排行榜")),
    Rule("points.view_own", PARTICIPANTS, _("查看本户积分和可兑换的商品")),
    Rule(
        "points.redeem_own",
        PARTICIPANTS,
        _("兑换日为本户兑换商品"),
        where=InHomeCommunity(),
        when=_has_household,
        condition=_("本人已登记在一个家庭中"),
        reason=_("您还没有登记家庭，积分记在家庭名下，请先到社区登记"),
    ),
)
