"""Request context for the audit log (actor and source IP) and idle expiry of staff sessions."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind a trusted proxy the real client is the first X-Forwarded-For entry.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


class IdleSessionMiddleware:
    """Sign staff out after ``STAFF_IDLE_SECONDS`` without a request."""

    KEY = "_last_seen"
    # Refresh the stored time at most this often, so a busy user's requests don't each write the session.
    RESOLUTION = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            now = time.time()
            last = request.session.get(self.KEY)
            if last is not None and now - float(last) > settings.STAFF_IDLE_SECONDS:
                logout(request)
            elif last is None or now - float(last) >= self.RESOLUTION:
                request.session[self.KEY] = now
        return self.get_response(request)
