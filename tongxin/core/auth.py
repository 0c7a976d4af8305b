"""Authentication: lock an account for a while after repeated failed logins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone


class LockoutModelBackend(ModelBackend):
    """Like ModelBackend, but a locked account cannot sign in even with the right password."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        User = get_user_model()
        user = User.objects.filter(username=username).first() if username else None
        if user is not None and user.is_locked:
            return None
        authenticated = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return authenticated
        if authenticated is None:
            register_failure(user)
        elif user.failed_logins or user.locked_until:
            User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        return authenticated


def register_failure(user: Any) -> None:
    User = get_user_model()
    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    user.refresh_from_db(fields=["failed_logins"])
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        until = timezone.now() + dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
