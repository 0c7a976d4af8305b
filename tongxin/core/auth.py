"""Authentication with abuse limits that a stranger cannot turn against a real user.

Failed password logins are counted per *user name and client address* (:func:`tongxin.core.middleware.client_ip`,
which trusts ``X-Forwarded-For`` only from ``TRUSTED_PROXIES``): ``LOGIN_MAX_FAILURES`` failures for one name from
one address lock that pair for ``LOGIN_LOCKOUT_SECONDS``. The same name from another address still signs in with
the right password, so guessing from afar cannot lock anyone out. After ``LOGIN_CAPTCHA_AFTER`` failures from an
address (for any name), or ``LOGIN_NAME_CAPTCHA_AFTER`` failures for a name (from any address), the login form
asks for a captcha too, which slows a guesser spread over many names or many addresses. Names are counted whether or not the account exists, and the
locked answer is the same for both, so the form does not tell which accounts exist.

``User.locked_until`` remains the operator's lock (set in the admin): a user locked that way cannot sign in and
their API tokens are refused (tongxin.core.api.BearerToken) until it expires.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from tongxin.core.middleware import client_ip
from tongxin.core.throttle import Limit


def _norm(username: str | None) -> str:
    return (username or "").strip().lower()


def pair_limit() -> Limit:
    return Limit("login-pair", settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_SECONDS)


def name_limit() -> Limit:
    return Limit("login-name", settings.LOGIN_NAME_CAPTCHA_AFTER, settings.LOGIN_LOCKOUT_SECONDS)


def address_limit() -> Limit:
    return Limit("login-ip", settings.LOGIN_CAPTCHA_AFTER, settings.LOGIN_LOCKOUT_SECONDS)


def _pair(username: str | None, ip: str | None) -> str:
    return f"{_norm(username)}|{ip or '-'}"


def is_locked_out(request: HttpRequest | None, username: str | None) -> bool:
    """Too many failures for this name from this address."""
    return pair_limit().exceeded(_pair(username, client_ip(request)))


def captcha_required(request: HttpRequest | None, username: str | None) -> bool:
    ip = client_ip(request) or "-"
    return name_limit().exceeded(_norm(username)) or address_limit().exceeded(ip)


def register_failure(request: HttpRequest | None, username: str | None) -> None:
    ip = client_ip(request)
    pair_limit().hit(_pair(username, ip))
    name_limit().hit(_norm(username))
    address_limit().hit(ip or "-")


def register_success(request: HttpRequest | None, username: str | None) -> None:
    pair_limit().reset(_pair(username, client_ip(request)))


class LockoutModelBackend(ModelBackend):
    """Like ModelBackend, but refuses a locked-out name+address pair and an operator-locked account."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        if is_locked_out(request, username):
            if request is not None:
                request._tongxin_locked_out = True  # type: ignore[attr-defined]
            return None
        authenticated = super().authenticate(request, username=username, password=password, **kwargs)
        if authenticated is None:
            register_failure(request, username)
            if request is not None and is_locked_out(request, username):
                request._tongxin_locked_out = True  # type: ignore[attr-defined]
            return None
        if getattr(authenticated, "is_locked", False):
            return None
        register_success(request, username)
        User = get_user_model()
        if authenticated.failed_logins:
            User.objects.filter(pk=authenticated.pk).update(failed_logins=0)
        return authenticated
