"""The menu and the bell on every page: each menu item is shown exactly when the policy allows the action its page
declares (``policy.can(user, action)``); the bell shows the user's unread notifications."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.translation import gettext_lazy as _

from tongxin.accounts.services import unread_count
from tongxin.core import policy
from tongxin.core.policy import RouteAccess
from tongxin.regions.scoping import scope_for


@dataclass(frozen=True)
class NavItem:
    """One menu entry: the URL name of its page and its label. The item is shown when the policy allows the
    action that page declares (``@policy.page(...)``), so the menu and the page can never disagree.

    ``legacy_roles`` is the role list the menu used before the policy layer; it is asked only while the page
    declares no action yet (the apps are being converted one by one).
    """

    url_name: str
    label: Any
    legacy_roles: tuple[str, ...] = ()


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("accounts:home", _("首页")),
    NavItem("regions:tree", _("区域网格")),
    NavItem("people:resident_list", _("居民")),
    NavItem("party:member_list", _("党员"), ("subdistrict_admin", "community_staff", "grid_worker")),
    NavItem("people:import_list", _("导入")),
    NavItem("cases:workbench", _("诉求"), ("authenticated",)),
    NavItem(
        "volunteers:home",
        _("志愿服务"),
        ("subdistrict_admin", "community_staff", "grid_worker", "volunteer", "resident"),
    ),
    NavItem(
        "points:home",
        _("积分"),
        ("subdistrict_admin", "community_staff", "grid_worker", "volunteer", "resident"),
    ),
    NavItem("dashboard:home", _("数据看板"), ("subdistrict_admin", "community_staff")),
    NavItem("core:audit", _("审计日志")),
)


@functools.cache
def declared(url_name: str) -> tuple[str, RouteAccess | None]:
    """The page's URL and what it declares (None: not declared yet). Raises NoReverseMatch for a page that
    does not exist (yet)."""
    url = reverse(url_name)
    return url, policy.access_of(resolve(url).func)


def shows(user: Any, item: NavItem) -> bool:
    """Whether the menu shows ``item`` to ``user``: the policy's answer for the action its page declares."""
    _url, access = declared(item.url_name)
    if access is not None:
        return not access.action or policy.can(user, access.action)
    roles = policy.roles_of(user)
    return policy.SUPERUSER in roles or bool(roles & set(item.legacy_roles))


def menu(request: HttpRequest) -> list[dict[str, Any]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = []
    for item in NAV_ITEMS:
        try:
            url, _access = declared(item.url_name)
        except NoReverseMatch:
            continue  # the app has not built that page yet
        if not shows(user, item):
            continue
        items.append({"url": url, "label": item.label, "active": request.path.startswith(url) and url != "/"})
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "unread_notifications": 0}
    # ``user_scope``: templates that still ask the scope directly (volunteers' account list) until they ask the
    # policy with {% can %}.
    return {
        "nav_items": menu(request),
        "user_scope": scope_for(user),
        "unread_notifications": unread_count(user),  # the bell: one indexed COUNT
    }
