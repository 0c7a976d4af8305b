from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from tongxin.regions.scoping import scope_for

# (url name, label, roles that see it; empty = every signed-in staff user)
NAV_ITEMS: list[tuple[str, object, tuple[str, ...]]] = [
    ("core:home", _("首页"), ()),
    (
        "regions:tree",
        _("区域网格"),
        ("subdistrict_admin", "community_staff", "grid_worker", "property_staff"),
    ),
    (
        "people:resident_list",
        _("居民"),
        ("subdistrict_admin", "community_staff", "grid_worker", "property_staff"),
    ),
    ("party:member_list", _("党员"), ("subdistrict_admin", "community_staff", "grid_worker")),
    ("people:import_list", _("导入"), ("subdistrict_admin", "community_staff")),
    ("cases:workbench", _("诉求"), ()),
    (
        "volunteers:home",
        _("志愿服务"),
        ("subdistrict_admin", "community_staff", "grid_worker", "volunteer", "resident"),
    ),
    (
        "points:home",
        _("积分"),
        ("subdistrict_admin", "community_staff", "grid_worker", "volunteer", "resident"),
    ),
    ("notices:list", _("通知"), ("subdistrict_admin", "community_staff", "grid_worker")),
    ("notices:mine", _("我家的通知"), ()),  # residents, and leaders who hold no other role
    ("care:visits", _("走访"), ("subdistrict_admin", "community_staff", "grid_worker", "volunteer")),
    ("dashboard:home", _("数据看板"), ("subdistrict_admin", "community_staff")),
    ("core:audit", _("审计日志"), ("subdistrict_admin",)),
]


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    scope = scope_for(user)
    items = []
    for name, label, roles in NAV_ITEMS:
        if roles and not scope.has_role(*roles):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # the app has not built that page yet
        items.append({"url": url, "label": label, "active": request.path.startswith(url) and url != "/"})
    return {"nav_items": items, "user_scope": scope}
