"""Who is on duty now: the provider behind ``settings.CASES_ON_DUTY_PROVIDER`` for round-robin and claiming."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tongxin.volunteers.models import DutyShift, PostCategory


def category_code(category: Any) -> str:
    from tongxin.volunteers.services import category_code as code_of

    return code_of(category)


def shifts_on_duty(community_id: int | None = None, at: dt.datetime | None = None) -> QuerySet[DutyShift]:
    at = at or timezone.now()
    qs = DutyShift.objects.filter(starts_at__lte=at, ends_at__gt=at, member__active=True)
    if community_id is not None:
        qs = qs.filter(post__community_id=community_id)
    return qs


def on_duty_users(category: Any, grid: Any, at: dt.datetime | None = None) -> list[Any]:
    """Users of members on duty now in ``grid``'s community (shifts for that grid or for the whole community).

    The posts that answer ``category`` are its ``claim_post_codes`` (cases app) or, failing that, the posts
    mapped to its code in :class:`PostCategory`. A category tied to no post (a repair for the property company,
    say) is not the volunteers' business: its own handler list answers, as it does when nobody is on duty, so
    dispatch never stalls on an empty roster. ``category=None`` means everyone on duty. Ordered by shift start.
    """
    users: list[Any] = []
    posts: list[int] | None = None
    post_codes: list[str] = []
    if category is not None:
        post_codes = list(getattr(category, "claim_post_codes", None) or [])
        if not post_codes:
            code = category_code(category)
            posts = list(PostCategory.objects.filter(category_code=code).values_list("post_id", flat=True))
    tied_to_posts = category is None or bool(post_codes) or bool(posts)
    if grid is not None and tied_to_posts:
        qs = shifts_on_duty(grid.community_id, at).filter(Q(grid__isnull=True) | Q(grid=grid))
        if post_codes:
            qs = qs.filter(post__code__in=post_codes)
        elif posts:
            qs = qs.filter(post_id__in=posts)
        seen: set[int] = set()
        for shift in qs.select_related("member__resident__user").order_by("starts_at", "member_id"):
            user = shift.member.resident.user
            if user is not None and user.is_active and user.pk not in seen:
                seen.add(user.pk)
                users.append(user)
    if not users and category is not None and hasattr(category, "handlers"):
        users = list(category.handlers.filter(is_active=True).order_by("id"))
    return users
