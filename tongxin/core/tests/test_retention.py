"""Expired private files (uploaded import spreadsheets) are deleted by a command and a nightly task, never one an
unfinished import still needs, and never anything outside the private folders."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tongxin.conftest import make_user
from tongxin.core.models import ImportJob

DAY = 86400


def _file(root: Path, name: str, age_days: float, text: str = "身份证号,手机号\n") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stamp = time.time() - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def roots(tmp_path, settings):
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_FILE_RETENTION_DAYS = 7
    settings.PRIVATE_ROOT.mkdir()
    settings.MEDIA_ROOT.mkdir()
    return settings.PRIVATE_ROOT, settings.MEDIA_ROOT


def _job(name: str, status: str) -> ImportJob:
    user = make_user(f"importer-{status}-{ImportJob.objects.count()}", is_staff=True)
    return ImportJob.objects.create(
        kind="residents", file=name, original_name="居民.xlsx", created_by=user, status=status
    )


@pytest.mark.django_db
def test_old_uploads_go_recent_ones_and_those_of_unfinished_imports_stay(roots, capsys):
    # given uploads of 10, 8 and 2 days ago, and two old ones that a pending and a running import still need
    private, _media = roots
    old = _file(private, "imports/2026/11/old.xlsx", 10)
    stray = _file(private, "exports/tmp.csv", 8)
    recent = _file(private, "imports/2026/11/recent.xlsx", 2)
    pending_file = _file(private, "imports/2026/10/pending.xlsx", 30)
    running_file = _file(private, "imports/2026/10/running.xlsx", 30)
    pending = _job("imports/2026/10/pending.xlsx", ImportJob.Status.PENDING)
    running = _job("imports/2026/10/running.xlsx", ImportJob.Status.RUNNING)
    # and a finished import that still names its old upload (a worker that died before removing it)
    finished = _job("imports/2026/11/old.xlsx", ImportJob.Status.ERROR)
    # when the purge runs with the default retention (7 days)
    call_command("purge_private_files")
    out = capsys.readouterr().out
    # then the files older than 7 days are gone, the recent one and those of unfinished imports stay
    assert not old.exists() and not stray.exists()
    assert recent.exists() and pending_file.exists() and running_file.exists()
    # and the output says what went and why the old ones stayed
    assert f"deleted {old}" in out and f"deleted {stray}" in out
    assert f"unfinished import #{pending.pk}" in out and f"unfinished import #{running.pk}" in out
    assert "deleted 2 files" in out and "kept 2" in out
    # and the finished import forgets the name of its deleted file; the unfinished ones keep theirs
    finished.refresh_from_db()
    pending.refresh_from_db()
    assert finished.file.name == "" and pending.file.name == "imports/2026/10/pending.xlsx"
    # and the folders left empty are removed, the root and folders still holding files are not
    assert not (private / "exports").exists()
    assert private.is_dir() and recent.parent.is_dir() and pending_file.parent.is_dir()


@pytest.mark.django_db
def test_dry_run_lists_what_would_go_and_deletes_nothing(roots, capsys):
    # given one expired upload and one recent one
    private, _media = roots
    old = _file(private, "imports/2026/11/old.xlsx", 10)
    recent = _file(private, "imports/2026/11/recent.xlsx", 1)
    # when the purge runs with --dry-run
    call_command("purge_private_files", "--dry-run")
    out = capsys.readouterr().out
    # then it names the expired file with its age, and both files are still there
    assert f"would delete {old} (10.0 days old)" in out
    assert str(recent) not in out
    assert "would delete 1 files" in out
    assert old.exists() and recent.exists()


@pytest.mark.django_db
def test_old_uploads_under_media_go_but_other_media_stays(roots, capsys):
    # given an upload an older release left under MEDIA_ROOT/imports, and an old case photo beside it
    _private, media = roots
    legacy = _file(media, "imports/2025/03/roster.xlsx", 200)
    photo = _file(media, "cases/2025/03/photo.jpg", 200)
    # when the purge runs with --days 30
    call_command("purge_private_files", "--days", "30")
    # then the old upload is gone and the photo, which is not a private file, is untouched
    assert not legacy.exists()
    assert photo.exists()
    assert media.is_dir() and (media / "imports").is_dir()


@pytest.mark.django_db
def test_links_are_neither_followed_nor_deleted(roots, tmp_path):
    # given an old file outside the private folder, linked from inside it (file link and folder link)
    private, _media = roots
    outside = _file(tmp_path / "elsewhere", "keep/precious.xlsx", 100)
    (private / "imports").mkdir()
    (private / "imports" / "link.xlsx").symlink_to(outside)
    (private / "linked-folder").symlink_to(outside.parent, target_is_directory=True)
    # when the purge runs
    call_command("purge_private_files")
    # then the outside file and both links are still there
    assert outside.exists()
    assert (private / "imports" / "link.xlsx").is_symlink() and (private / "linked-folder").is_symlink()


@pytest.mark.django_db
def test_negative_days_are_refused_with_a_clear_message(roots):
    # given an expired upload
    private, _media = roots
    old = _file(private, "imports/old.xlsx", 10)
    # when the purge is asked to keep -1 days, then it refuses, naming the option, and deletes nothing
    with pytest.raises(CommandError, match="--days: days must be 0 or more, not -1"):
        call_command("purge_private_files", "--days", "-1")
    assert old.exists()


@pytest.mark.django_db
def test_missing_folders_are_not_an_error(tmp_path, settings, capsys):
    # given a fresh installation where neither folder exists yet
    settings.PRIVATE_ROOT = tmp_path / "none"
    settings.MEDIA_ROOT = tmp_path / "none-either"
    # when the purge runs, then it reports nothing to delete and creates nothing
    call_command("purge_private_files")
    assert "deleted 0 files" in capsys.readouterr().out
    assert not settings.PRIVATE_ROOT.exists()


@pytest.mark.django_db
def test_the_worker_purges_every_night_at_0340_beijing_time(roots):
    # given the worker's periodic task and an expired upload
    from huey.contrib.djhuey import HUEY

    from tongxin.core import tasks

    private, _media = roots
    old = _file(private, "imports/old.xlsx", 10)
    task = {t.name: t for t in HUEY._registry.periodic_tasks}["purge_private_files"]
    # then it is due at 03:40 on the worker's clock (Beijing wall time, see test_holidays) and not at 11:40
    assert task.validate_datetime(dt.datetime(2026, 11, 28, 3, 40))
    assert not task.validate_datetime(dt.datetime(2026, 11, 28, 11, 40))
    # and when it runs, it deletes the expired upload and says how many went
    assert tasks.purge_private_files.call_local() == 1
    assert not old.exists()


def test_private_files_and_their_folders_are_for_the_app_user_only(tmp_path, settings):
    # given a process with a permissive umask (the units use 0027: the app's group, nginx included, could read)
    from django.core.files.base import ContentFile

    from tongxin.core.models import private_storage

    settings.PRIVATE_ROOT = tmp_path / "private"
    old_umask = os.umask(0o022)
    try:
        # when an upload is stored where import files go
        name = private_storage().save("imports/2026/11/居民.csv", ContentFile("身份证号\n".encode()))
    finally:
        os.umask(old_umask)
    # then the file and every folder created for it are readable by the owner only
    path = settings.PRIVATE_ROOT / name
    assert path.stat().st_mode & 0o777 == 0o600
    for folder in (settings.PRIVATE_ROOT, path.parent, path.parent.parent):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
