"""Request context for the audit log (actor and source IP), idle expiry of staff sessions, request ids and
timing for logs and metrics, and the Content-Security-Policy header."""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import logout
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from tongxin.core import deploy_checks, metrics
from tongxin.core.logs import request_id


def _clear_request_id(**kwargs: object) -> None:
    request_id.set("-")


request_finished.connect(_clear_request_id, dispatch_uid="tongxin.core.clear_request_id")

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)

# An id the proxy chose (nginx's $request_id) is kept when it looks like one; anything else is replaced.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[Network, ...]:
    # an entry that is not an address is trusted for nothing (production refuses to start with one: deploy_checks)
    return tuple(deploy_checks.valid_networks([e for e in entries if e.strip()])[0])


def trusted_proxies() -> tuple[Network, ...]:
    """``settings.TRUSTED_PROXIES`` (addresses or CIDRs) as networks. Read on every request (parsed once per
    value), so the proxy check and the client address always agree with the settings in force."""
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


# Headers only a reverse proxy may set: what the client's address was, which scheme and host it used.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_REAL_IP")


class TrustedProxyMiddleware:
    """First in the chain: drop the proxy headers of a request whose direct peer (REMOTE_ADDR) is not one of
    ``settings.TRUSTED_PROXIES``. Behind them, everything downstream — Django's HTTPS detection
    (SECURE_PROXY_SSL_HEADER), the client IP of the audit log, the loopback test of /metrics — may read these
    headers as the proxy's word, never the client's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted_proxies() if network.version == ip.version)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.trusted(request.META.get("REMOTE_ADDR", "")):
            for header in PROXY_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


class RequestIdMiddleware:
    """First in the chain: give the request an id (the proxy's X-Request-ID or a new one), make it available to
    every log record written while the request runs, return it as X-Request-ID, and time the request for the
    ``tongxin_http_request_duration_seconds`` histogram (labelled by route, not by URL, to stay bounded)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        # Kept until the request is finished (request_finished clears it): Django logs 4xx/5xx responses after
        # the middleware chain has returned, and those lines should carry the id too.
        request_id.set(rid)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match else "unmatched"
        metrics.observe_request(
            request.method or "", route, response.status_code, time.perf_counter() - started
        )
        response["X-Request-ID"] = rid
        return response


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` ({directive: [sources]}) on every response that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        policy = dict(settings.CONTENT_SECURITY_POLICY)
        tiles = getattr(settings, "TILE_URL", "")
        if tiles:
            # the map's tile server (an intranet host): only its origin, without the {z}/{x}/{y} template
            origin = re.match(r"^(https?://[^/{]+)", tiles)
            if origin:
                policy["img-src"] = [*policy.get("img-src", []), origin.group(1)]
        self.header = "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.header
        return response
