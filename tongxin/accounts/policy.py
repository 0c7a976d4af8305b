"""Accounts' part of the access policy: signing in, the home page, API tokens, the inbox and the audit page.

Signing in and out and the language switch need no action (``policy.public``). Everything else here is open to
any signed-in user for their *own* things: tokens and notifications carry the ``where`` clause "the user's own"
(``Owned("user_id")``), so another user's token or notification is simply not found (404), superusers included.
Issuing a token needs the browser session: a token cannot issue another token. The audit log is core's page; its
rule lives here because core knows no roles.
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
    Rule(
        "accounts.view_notifications",
        SIGNED_IN,
        _("查看本人的消息"),
        where=Owned("user_id", description=_("本人的消息")),
    ),
    Rule(
        "accounts.read_notifications",
        SIGNED_IN,
        _("将本人的消息标为已读"),
        where=Owned("user_id", description=_("本人的消息")),
    ),
    Rule("accounts.edit_preferences", SIGNED_IN, _("设置本人的消息接收方式")),
    # core's own page: core knows no roles, so its rule is declared here, by the first app that knows them
    Rule("core.view_audit", ADMIN, _("查看审计日志")),
)
