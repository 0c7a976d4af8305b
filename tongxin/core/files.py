"""Serving files that only some users may read (case photos, exports).

A view decides whether the user may have the file, then returns :func:`protected_file_response`. With nginx in
front (``PROTECTED_MEDIA_ACCEL`` set, e.g. "/protected/") the answer is an empty response whose
``X-Accel-Redirect`` header tells nginx to send the file from its ``internal`` location: the web worker is freed at
once and the file is never reachable by URL on its own. Without nginx (development, gunicorn alone) the file is
streamed from Python. Either way the path must lie inside MEDIA_ROOT.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase


def media_path(name: str | Path) -> Path:
    """The absolute path of ``name`` (relative to MEDIA_ROOT, or absolute) if it lies inside MEDIA_ROOT."""
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / name).resolve()
    if path != root and root not in path.parents:
        raise Http404("outside MEDIA_ROOT")
    return path


def protected_file_response(
    name: str | Path, *, download_name: str = "", as_attachment: bool = False
) -> HttpResponseBase:
    """Answer with the file ``name`` (a FileField's ``.name`` or a path under MEDIA_ROOT) after the caller has
    authorised the request. 404 when the file is missing or outside MEDIA_ROOT. Responses are private (no shared
    cache keeps them)."""
    path = media_path(name)
    if not path.is_file():
        raise Http404("no such file")
    filename = download_name or path.name
    accel = settings.PROTECTED_MEDIA_ACCEL
    response: HttpResponseBase
    if accel:
        relative = path.relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
        response = HttpResponse(content_type=mimetypes.guess_type(filename)[0] or "application/octet-stream")
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(relative)
        disposition = "attachment" if as_attachment else "inline"
        response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    else:
        response = FileResponse(path.open("rb"), as_attachment=as_attachment, filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
