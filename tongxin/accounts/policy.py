"""Accounts' part of the access policy: signing in, the home page, API tokens, the inbox and the audit page.

Signing in and out and the language switch need no action (``policy.public``). Everything else here is open to
any signed-in user for their *own* things: a user's tokens, notifications and preferences are fetched through
``owner=request.user`` querysets, so another user's row is simply not found (404).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import AUTHENTICATED, Owned, Rule, register
from tongxin.regions.policy import ADMIN

SIGNED_IN = frozenset({AUTHENTICATED})

register(
    Rule("accounts.view_home", SIGNED_IN, _("打开首页")),
    Rule("accounts.view_profile", SIGNED_IN, _("查看本人账号和角色")),
    Rule(
        "accounts.manage_tokens",
        SIGNED_IN,
        _("管理本人的API令牌"),
        where=Owned("user_id", description=_("本人的令牌")),
    ),
    Rule("accounts.view_notifications", SIGNED_IN, _("查看本人的消息")),
    Rule("accounts.read_notifications", SIGNED_IN, _("将本人的消息标为已读")),
    Rule("accounts.edit_preferences", SIGNED_IN, _("设置本人的消息接收方式")),
    # core's own page: core knows no roles, so its rule is declared here, by the first app that knows them
    Rule("core.view_audit", ADMIN, _("查看审计日志")),
)
