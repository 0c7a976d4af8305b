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
    """One menu entry: the URL name of its page, its label and the policy action it needs. The item is shown when
    the policy allows that action; without one (or while the action is not registered yet) the action the page
    declares (``@policy.page(...)``) decides, so the menu and the page cannot disagree.

    ``legacy_roles`` is the role list the menu used before the policy layer; it is asked only while neither the
    item nor its page names a registered action (the apps are being converted one by one).
    """

    url_name: str
    label: Any
    action: str = ""
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
    NavItem("people:import_list", _("导入"), "people.import", ("subdistrict_admin", "community_staff")),
    NavItem("cases:workbench", _("诉求"), "cases.report", ("authenticated",)),
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
    NavItem("sensors:device_list", _("智能感知"), "sensors.view_device"),
    NavItem("notices:list", _("通知"), "notices.list"),
    NavItem("notices:mine", _("我家的通知"), "notices.my_notices"),
    NavItem("notices:leader_home", _("我的楼栋"), "notices.leader_home"),
    NavItem("care:visits", _("走访"), "care.view_visits"),
    NavItem("doorstep:desk", _("便民服务"), "doorstep.work_window"),
    NavItem("doorstep:errands", _("代办"), "doorstep.view_errands"),
    NavItem("doorstep:my_services", _("我的便民服务"), "doorstep.my_services"),
    NavItem("assembly:home", _("议事"), "assembly.list"),
    NavItem("assembly:mine", _("小区议事"), "assembly.my_matters"),
    NavItem("mediation:list", _("调解"), "mediation.view"),
    NavItem("dashboard:home", _("数据看板"), "dashboard.view", ("subdistrict_admin", "community_staff")),
    NavItem("core:audit", _("审计日志"), "core.view_audit"),
)


@functools.cache
def declared(url_name: str) -> tuple[str, RouteAccess | None]:
    """The page's URL and what it declares (None: not declared yet). Raises NoReverseMatch for a page that
    does not exist (yet)."""
    url = reverse(url_name)
    return url, policy.access_of(resolve(url).func)


def registered(action: str) -> bool:
    return any(r.action == action for r in policy.rules())


def shows(user: Any, item: NavItem) -> bool:
    """Whether the menu shows ``item`` to ``user``: the policy's answer for the item's action, else for the
    action its page declares."""
    if item.action and registered(item.action):
        return policy.can(user, item.action)
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
