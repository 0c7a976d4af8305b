"""Every route of the project — web pages and API operations — with the policy action it declares.

Used by ``manage.py access_docs`` (docs/access.md lists which route needs which action) and by the route walker
(tongxin/tests/test_routes.py), which requests every route as every role and checks the answer against the policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from ninja.utils import normalize_path

from tongxin.core.policy import RouteAccess, access_of

# Routes with their own access model, outside the policy table (documented in docs/access.md):
# Django's admin (is_staff + model permissions) and the API schema/docs pages (public by design).
EXEMPT_PREFIXES = ("admin/", "api/v1/")  # the API is walked operation by operation below
EXEMPT_NAMES = {"set_language"}  # Django's language switch: anyone, no data


@dataclass(frozen=True)
class Route:
    kind: str  # "page" or "api"
    path: str  # Django route (pages) or OpenAPI path (api)
    name: str
    methods: tuple[str, ...]
    view: Callable[..., Any]
    access: RouteAccess | None
    public_api: bool = False  # an API operation open without authentication (auth=None)

    @property
    def params(self) -> list[str]:
        if self.kind == "page":
            return re.findall(r"<(?:\w+:)?(\w+)>", self.path)
        return re.findall(r"{(?:\w+:)?(\w+)}", self.path)

    @property
    def label(self) -> str:
        return f"{' '.join(self.methods)} /{self.path.lstrip('/')}" if self.methods else f"/{self.path}"


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p


def pages() -> list[Route]:
    out = []
    for path, pattern in _walk(get_resolver().url_patterns):
        if path.startswith(EXEMPT_PREFIXES) or pattern.name in EXEMPT_NAMES:
            continue
        view = pattern.callback
        out.append(Route("page", path, pattern.name or "", (), view, access_of(view)))
    return out


def operations() -> list[Route]:
    from importlib import import_module

    api = import_module("tongxin.api").api  # the project's NinjaAPI, loaded by name like the URLconf
    out = []
    for bound in api._get_bound_routers():
        prefix = str(getattr(bound, "prefix", "") or "")
        for path, path_view in bound.path_operations.items():
            full = "/api/v1/" + normalize_path("/".join(i for i in (prefix, path) if i)).lstrip("/")
            for op in path_view.operations:
                view = op.view_func
                public = op.auth_param is None
                out.append(
                    Route(
                        "api",
                        full,
                        view.__name__,
                        tuple(sorted(op.methods)),
                        view,
                        access_of(view),
                        public_api=public,
                    )
                )
    return out


def all_routes() -> list[Route]:
    return pages() + operations()
