"""Uploaded files (``/media/<path>``), served only to those the policy lets see the object a file belongs to.

Nothing under ``MEDIA_ROOT`` is public. An app that shows its uploads registers a finder for its folder
(``register("cases/", find)``, from its ``policy.py``): ``find(path)`` returns ``(action, obj)`` — the policy
action that reads the object the file belongs to — or a list of such pairs (any one allowing is enough: a notice's
attachment is read by staff as ``notices.view`` and by households as ``notices.view_mine``), or None when no
object has that file. Every other path
answers 404: import files, visit photos, anything without a finder or a rule. Out of scope is 404 too, as
everywhere (:func:`tongxin.core.policy.decide`).

:func:`serve_media` is the one view; in production the reverse proxy's protected location can serve the bytes
once this view has decided (X-Accel-Redirect), without changing who may see what.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from tongxin.core import policy
from tongxin.core.files import protected_file_response

Finder = Callable[[str], "tuple[str, Any] | list[tuple[str, Any]] | None"]
_FINDERS: dict[str, Finder] = {}


def register(prefix: str, find: Finder) -> None:
    """Files whose path starts with ``prefix`` belong to the objects ``find(path)`` returns."""
    _FINDERS[prefix] = find


def _clean(path: str) -> str:
    normal = posixpath.normpath(path).lstrip("/")
    if normal.startswith("..") or "\x00" in normal or normal in ("", "."):
        raise Http404
    return normal


def _pairs(found: Any) -> list[tuple[str, Any]]:
    return found if isinstance(found, list) else [found]


def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    """One uploaded file, if the policy lets the user read the object it belongs to; else 404 (login first when
    nobody is signed in)."""
    name = _clean(path)
    found = None
    for prefix, find in _FINDERS.items():
        if name.startswith(prefix):
            found = find(name)
            break
    if not found:
        raise Http404
    decisions = [policy.decide(request.user, action, obj) for action, obj in _pairs(found)]
    if policy.Decision.ALLOW not in decisions:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404
    # the bytes: from nginx's internal location (X-Accel-Redirect) when PROTECTED_MEDIA_ACCEL is set, else
    # streamed from here; 404 when the file is missing
    response = protected_file_response(name)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# Each file answers by the rule of the object it belongs to. For the route walker (tongxin/tests/test_routes.py)
# the route is declared by its busiest folder, case photos: it requests each sample photo's path as every role.
serve_media.route_access = policy.RouteAccess(  # type: ignore[attr-defined]
    "cases.view_photo", "cases.CasePhoto", extra={"object_field": "file.name"}
)
