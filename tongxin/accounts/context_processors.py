"""The menu and the bell on every page: each menu item names a policy action and is shown exactly when the policy
allows it (``policy.can(user, action)``); the bell shows the user's unread notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from tongxin.core import policy
from tongxin.regions.scoping import scope_for


@dataclass(frozen=True)
class NavItem:
    """One menu entry. ``action`` is the policy action its page needs.

    ``legacy_roles`` is the role list the menu used before the policy layer, and is asked only while ``action``
    is not yet registered by its app (the apps are being converted one by one); an item whose action is
    registered never looks at it. tests/test_navigation.py lists the items still on it.
    """

    url_name: str
    label: Any
    action: str
    legacy_roles: tuple[str, ...] = ()


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("accounts:home", _("首页"), "accounts.view_home"),
    NavItem("regions:tree", _("区域网格"), "regions.view_tree"),
    NavItem(
        "people:resident_list",
        _("居民"),
        "people.list_residents",
        ("subdistrict_admin", "community_staff", "grid_worker"),
    ),
    NavItem(
        "party:member_list",
        _("党员"),
        "party.list_members",
        ("subdistrict_admin", "community_staff", "grid_worker"),
    ),
    NavItem(
        "people:import_list", _("导入"), "people.import_registry", ("subdistrict_admin", "community_staff")
    ),
    NavItem("cases:workbench", _("诉求"), "cases.view_workbench", ("authenticated",)),
    NavItem(
        "volunteers:home",
        _("志愿服务"),
        "volunteers.view_home",
        ("subdistrict_admin", "community_staff", "grid_worker", "volunteer", "resident"),
    ),
    NavItem(
        "points:home",
        _("积分"),
        "points.view_home",
        ("subdistrict_admin", "community_staff", "grid_worker", "volunteer", "resident"),
    ),
    NavItem("notices:list", _("通知"), "notices.list"),
    NavItem("notices:mine", _("我家的通知"), "notices.my_notices"),
    NavItem("notices:leader_home", _("我的楼栋"), "notices.leader_home"),
    NavItem("care:visits", _("走访"), "care.view_visits"),
    NavItem("dashboard:home", _("数据看板"), "dashboard.view", ("subdistrict_admin", "community_staff")),
    NavItem("core:audit", _("审计日志"), "core.view_audit"),
)


def registered(action: str) -> bool:
    try:
        policy.rule(action)
    except KeyError:
        return False
    return True


def shows(user: Any, item: NavItem) -> bool:
    """Whether the menu shows ``item`` to ``user``: the policy's answer for the item's action."""
    if registered(item.action):
        return policy.can(user, item.action)
    roles = policy.roles_of(user)
    return policy.SUPERUSER in roles or bool(roles & set(item.legacy_roles))


def menu(request: HttpRequest) -> list[dict[str, Any]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = []
    for item in NAV_ITEMS:
        if not shows(user, item):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # the app has not built that page yet
        items.append({"url": url, "label": item.label, "active": request.path.startswith(url) and url != "/"})
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    # ``user_scope``: templates that still ask the scope directly (volunteers' account list) until they ask the
    # policy with {% can %}.
    return {"nav_items": menu(request), "user_scope": scope_for(user)}
