"""Request context for the audit log (actor and source IP) and idle expiry of staff sessions."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def trusted_proxies() -> tuple[Network, ...]:
    """``settings.TRUSTED_PROXIES`` (addresses or CIDRs) as networks."""
    return _trusted(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address as far as it can be trusted.

    ``X-Forwarded-For`` is believed only when the peer (``REMOTE_ADDR``) is one of ``settings.TRUSTED_PROXIES``;
    the list is then read from the right, skipping the trusted proxies themselves, and the first address not
    trusted is the client (an address the client put at the left is never taken on its word). Without trusted
    proxies the header is ignored: a client cannot choose the IP that the audit log and the lockout record.
    """
    if request is None:
        return None
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    networks = trusted_proxies()

    def trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(addr in net for net in networks if net.version == addr.version)

    if not networks or not trusted(peer):
        return peer.compressed
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break  # a malformed entry: what lies left of it is the client's own text
        client = addr
        if not trusted(addr):
            break
    return client.compressed


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
