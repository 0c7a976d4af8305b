"""Serving files that only some users may read (case photos, exports).

A view decides whether the user may have the file, then returns :func:`protected_file_response`. With nginx in
front (``PROTECTED_MEDIA_ACCEL`` set, e.g. "/protected/") the answer is an empty response whose
``X-Accel-Redirect`` header tells nginx to send the file from its ``internal`` location: the web worker is freed at
once and the file is never reachable by URL on its own. Without nginx (development, gunicorn alone) the file is
streamed from Python. Either way the path must lie inside MEDIA_ROOT.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
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


class UploadStorage(FileSystemStorage):
    """The default storage (MEDIA_ROOT): files 0640 (FILE_UPLOAD_PERMISSIONS) in folders 0750, whatever the
    process's umask, so nginx reads the uploads it is handed by X-Accel-Redirect through the app's group
    (docs/deploy.md §8) and other local users cannot. Folders are made with a umask and no chmod afterwards (Django's
    FILE_UPLOAD_DIRECTORY_PERMISSIONS would chmod them), so a folder also keeps the group and setgid bit it inherits
    from a setgid parent, for sites that give MEDIA_ROOT a group of its own.
    """

    DIRECTORY_MODE = 0o750

    def _save(self, name: str, content: Any) -> str:
        directory = os.path.dirname(self.path(name))
        if not os.path.isdir(directory):
            previous = os.umask(0o777 & ~self.DIRECTORY_MODE)
            try:
                os.makedirs(directory, self.DIRECTORY_MODE, exist_ok=True)
            finally:
                os.umask(previous)
        return str(super()._save(name, content))  # type: ignore[misc]
