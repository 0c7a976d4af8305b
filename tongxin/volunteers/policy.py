"""Participation's part of the access policy: posts and rosters, activities, member alerts, the senior-talent
roster (staff, in the communities they work in), and the members' and residents' own pages (in the community where
they live). The accounts of the red bank are the ledger's rules (``ledger.*``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, register
from tongxin.ledger.policy import PARTICIPANTS, InHomeCommunity, OwnResident
from tongxin.regions.policy import MANAGERS, REGISTRY, CommunityIn

register(
    # staff: the communities they work in
    Rule(
        "volunteers.view_home", REGISTRY | PARTICIPANTS, _("进入志愿服务（工作人员总览，居民转到本人时长）")
    ),
    Rule("volunteers.view_post", REGISTRY, _("查看服务岗位、在岗党员和值班"), where=CommunityIn()),
    Rule("volunteers.manage_post", MANAGERS, _("分配岗位、排班"), where=CommunityIn()),
    Rule("volunteers.view_activity", REGISTRY, _("查看活动、报名和签到"), where=CommunityIn()),
    Rule("volunteers.create_activity", MANAGERS, _("发布活动"), where=CommunityIn("pk")),
    Rule("volunteers.manage_activity", MANAGERS, _("核验出勤、结束或取消活动"), where=CommunityIn()),
    Rule("volunteers.view_alerts", REGISTRY, _("查看党员参与预警、走访名单和季度考评")),
    Rule("volunteers.view_talent", REGISTRY, _("查看五老人才库")),
    Rule("volunteers.view_on_duty", REGISTRY, _("查看网格当前在岗党员"), where=CommunityIn()),
    # members and residents: their own pages, in the community where they live
    Rule("volunteers.view_own_hours", PARTICIPANTS, _("查看本人时长和可报名的活动")),
    Rule("volunteers.join_activity", PARTICIPANTS, _("报名本社区活动"), where=InHomeCommunity()),
    Rule("volunteers.cancel_signup", PARTICIPANTS, _("取消本人的报名"), where=OwnResident()),
    Rule("volunteers.check_in", PARTICIPANTS, _("凭签到码签到、签退")),
    Rule("volunteers.use_offer", PARTICIPANTS, _("用时长兑换本社区的服务"), where=InHomeCommunity()),
)
