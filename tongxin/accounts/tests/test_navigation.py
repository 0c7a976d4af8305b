"""The menu asks the policy: an item is shown exactly when the user holds the action its page needs."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils.translation import gettext_lazy as _

from tongxin.accounts import context_processors as nav
from tongxin.core import policy


def menu_urls(user) -> list[str]:
    request = RequestFactory().get("/")
    request.user = user
    return [item["url"] for item in nav.menu(request)]


@pytest.mark.parametrize(
    ("role", "sees_tree", "sees_audit"),
    [
        ("admin", True, True),
        ("staff_a", True, False),
        ("grid_1", True, False),
        ("property", True, False),
        ("department", False, False),
        ("resident", False, False),
    ],
)
def test_menu_items_follow_the_policy(world, role, sees_tree, sees_audit):
    # given a user of some role
    user = world.users[role]
    # when the menu is built for them
    urls = menu_urls(user)
    # then the region tree and the audit log are shown exactly when the policy allows their actions
    assert ("/regions/" in urls) is sees_tree is policy.can(user, "regions.view_tree")
    assert ("/audit/" in urls) is sees_audit is policy.can(user, "core.view_audit")
    assert urls[0] == "/"  # everyone signed in has the home page


def test_a_registered_action_overrides_the_old_role_list(world, monkeypatch):
    # given a menu item whose old role list names grid workers, but whose action only admins hold
    item = nav.NavItem("core:audit", _("审计日志"), "core.view_audit", ("grid_worker",))
    monkeypatch.setattr(nav, "NAV_ITEMS", (item,))
    # then the grid worker does not see it and the admin does
    assert menu_urls(world.users["grid_1"]) == []
    assert menu_urls(world.users["admin"]) == ["/audit/"]


def test_pages_in_the_menu_are_the_pages_the_user_may_open(world):
    # given every menu item shown to a grid worker, when they open each page, then none is refused
    client = world.client("grid_1")
    for url in menu_urls(world.users["grid_1"]):
        assert client.get(url).status_code == 200, url
    # and the audit page, not in their menu, answers 404 (the policy's answer for a role that lacks the action)
    assert client.get("/audit/").status_code == 404


def test_anonymous_users_get_no_menu(db):
    from django.contrib.auth.models import AnonymousUser

    assert menu_urls(AnonymousUser()) == []
