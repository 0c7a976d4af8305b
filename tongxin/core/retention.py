"""Retention of private files: uploaded import spreadsheets (clear id numbers and phones) do not stay on disk.

An import deletes its upload when it ends (tongxin.people.imports.run_import). What can still be left: the upload
of an import whose worker died mid-run, a file written by hand under ``PRIVATE_ROOT``, and the uploads that
releases before the move to ``PRIVATE_ROOT`` kept under ``MEDIA_ROOT/imports/``. :func:`purge_private_files`
deletes every regular file under those two folders whose last change is older than
``PRIVATE_FILE_RETENTION_DAYS``, except a file an unfinished import (pending or running) still names: that
import would fail without it. A finished import that still names a deleted file forgets the name. Folders left
empty are removed (the roots themselves stay). Symbolic links are never followed nor deleted.

Run nightly by the worker (tongxin.core.tasks.purge_private_files) and by hand with
``manage.py purge_private_files [--days N] [--dry-run]`` (docs/operations.md, "Retention").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tongxin.core.models import ImportJob

UNFINISHED = (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)


@dataclass
class Purge:
    """What a purge deleted (or, dry, would delete) and what it kept although old enough."""

    cutoff: dt.datetime
    dry_run: bool
    deleted: list[tuple[Path, float]] = field(default_factory=list)  # (path, age in days)
    kept: list[tuple[Path, int]] = field(default_factory=list)  # (path, id of the unfinished import)
    bytes: int = 0


def roots() -> list[Path]:
    """The folders whose files expire: ``PRIVATE_ROOT`` and the old upload folder ``MEDIA_ROOT/imports``."""
    return [Path(settings.PRIVATE_ROOT), Path(settings.MEDIA_ROOT) / "imports"]


def _files(root: Path) -> list[Path]:
    out = []
    for dirpath, _dirs, names in os.walk(root):  # os.walk does not descend into linked folders
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                out.append(path)
    return sorted(out)


def _remove_empty_folders(root: Path) -> None:
    # bottom-up, so a folder whose last subfolder just went is empty by the time it is reached
    for dirpath, _dirs, _names in os.walk(root, topdown=False):
        path = Path(dirpath)
        if path != root and not path.is_symlink():
            with contextlib.suppress(OSError):  # not empty: files not yet expired, or one appeared meanwhile
                path.rmdir()


def purge_private_files(days: int | None = None, *, dry_run: bool = False) -> Purge:
    """Delete private files older than ``days`` (default ``PRIVATE_FILE_RETENTION_DAYS``); see the module doc."""
    days = settings.PRIVATE_FILE_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValueError(f"days must be 0 or more, not {days}")
    now = timezone.now()
    result = Purge(cutoff=now - dt.timedelta(days=days), dry_run=dry_run)
    # The names an unfinished import will still open (relative to its storage; the same relative name under
    # the old MEDIA_ROOT folder is kept too, to be safe).
    needed = {
        name: pk
        for pk, name in ImportJob.objects.filter(status__in=UNFINISHED)
        .exclude(file="")
        .values_list("pk", "file")
    }
    cutoff = result.cutoff.timestamp()
    private_root = Path(settings.PRIVATE_ROOT)
    media_root = Path(settings.MEDIA_ROOT)
    forgotten: list[str] = []
    for root in roots():
        if not root.is_dir():
            continue
        base = private_root if root == private_root else media_root
        for path in _files(root):
            stat = path.stat()
            if stat.st_mtime >= cutoff:
                continue
            name = path.relative_to(base).as_posix()
            if name in needed:
                result.kept.append((path, needed[name]))
                continue
            result.deleted.append((path, (now.timestamp() - stat.st_mtime) / 86400))
            result.bytes += stat.st_size
            if not dry_run:
                path.unlink(missing_ok=True)
                forgotten.append(name)
        if not dry_run:
            _remove_empty_folders(root)
    if forgotten:
        ImportJob.objects.exclude(status__in=UNFINISHED).filter(file__in=forgotten).update(file="")
    return result
