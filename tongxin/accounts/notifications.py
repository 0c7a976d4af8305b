"""The kinds of notification people can receive, with the channels each uses besides the inbox by default.

SMS (and WeChat, where configured) by default for what needs someone to act soon: a dispatched case, a whistle
(the department has 30 minutes to report in), yellow and red supervision cards, and the request to rate. Everything
else goes to the inbox only, unless the user asks for more on the preferences page.

The cases app emits these kinds; their catalogue is kept here, with the preferences page, until cases registers
its own (then this module keeps only accounts' kinds). ``case_yellow``/``case_red`` are the names the deadline
sweep emits today.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.notifications import SMS, WECHAT, Kind, register_kind

URGENT = frozenset({SMS, WECHAT})

register_kind(
    Kind("case_dispatched", _("工单派发给我"), URGENT),
    Kind("case_whistled", _("街道吹哨，请报到"), URGENT),
    Kind("case_yellow_card", _("黄牌督办"), URGENT, aliases=("case_yellow",)),
    Kind("case_red_card", _("红牌督办"), URGENT, aliases=("case_red",)),
    Kind("case_rate_request", _("请评价办理结果"), URGENT),
    Kind("case_new", _("新诉求待受理")),
    Kind("case_claimable", _("可接单的诉求")),
    Kind("case_claimed", _("诉求已被接单")),
    Kind("case_returned", _("工单被退回")),
    Kind("case_rejected", _("诉求不予受理")),
    Kind("case_resolved", _("诉求已办结")),
    Kind("case_reopened", _("工单重新办理")),
    Kind("case_merged", _("诉求已合并")),
    Kind("case_due_soon", _("工单即将到期")),
    Kind("account_welcome", _("欢迎与使用提示")),
)
