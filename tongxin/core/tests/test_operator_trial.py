"""What the operator trial of docs/deploy.md and docs/operations.md found in the product: files an operator's
umask must not decide (uploads nginx reads, audit archives nobody else may read), the demo refused on a
production database, an interrupted key rotation, the SMS gateway's class checked, the worker logging once."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.checks import Error
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tongxin.core import audit, pii
from tongxin.core.checks import sms_backend_loads
from tongxin.core.models import AuditLog, User

ROOT = Path(django_settings.BASE_DIR)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_077() -> Iterator[None]:
    """The strictest umask an operator's shell or unit may have."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_uploads_are_group_readable_for_nginx_whatever_the_umask(tmp_path, settings, umask_077):
    # given the web service running with a umask that would make every new file private to its owner
    settings.MEDIA_ROOT = tmp_path / "media"
    # when a case photo is saved under a month folder that does not exist yet
    storage = FileSystemStorage()
    name = storage.save("cases/2026/11/photo.png", ContentFile(b"\x89PNG"))
    # then the folders can be entered and the file read by the group (nginx's, through X-Accel-Redirect)
    # and by nobody else
    photo = Path(settings.MEDIA_ROOT) / name
    assert mode(photo) == 0o640
    assert mode(photo.parent) == mode(photo.parent.parent) == 0o750


@pytest.mark.django_db
def test_audit_archives_are_readable_by_their_owner_only(tmp_path, monkeypatch, umask_077):
    # given audit rows old enough to archive, and a caller whose umask would leave new files world-readable
    os.umask(0o022)
    for i in range(3):
        audit.record("update", object_type="t", object_id=str(i))
    from tongxin.core.management.commands import archive_audit

    later = timezone.now() + dt.timedelta(days=200)
    monkeypatch.setattr(archive_audit.timezone, "now", lambda: later)
    # when they are archived into a folder that does not exist yet
    out = tmp_path / "audit-archive"
    call_command("archive_audit", days=183, out=out)
    # then the folder and the file are the owner's alone
    (archive,) = out.glob("audit-*.jsonl.gz")
    assert mode(out) == 0o700
    assert mode(archive) == 0o600


@pytest.mark.django_db
def test_load_demo_is_refused_in_production_without_the_explicit_flag(settings):
    # given a production installation
    settings.PRODUCTION = True
    # when the demo is loaded without saying so explicitly
    with pytest.raises(CommandError, match="--i-know-this-is-production") as refused:
        call_command("load_demo", scale=0.01, foundation_only=True)
    # then it is refused, naming the published password, and nothing was created
    assert "tongxin2026" in str(refused.value)
    assert not User.objects.exists()
    assert not AuditLog.objects.exists()


@pytest.mark.django_db
def test_load_demo_runs_in_production_with_the_explicit_flag(settings):
    # given a production training server, when the demo is loaded with the flag, then it is
    settings.PRODUCTION = True
    call_command("load_demo", scale=0.01, foundation_only=True, production_ok=True)
    assert User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_an_interrupted_rotation_says_how_to_continue_and_keeps_its_work(world, settings, monkeypatch):
    # given values under key 1 and key 2 made current
    old_key = settings.PII_KEY
    settings.PII_KEY, settings.PII_KEY_ID, settings.PII_OLD_KEYS = (
        "k2-" + "0a1b2c3d4e5f" * 4,
        "2",
        {"1": old_key},
    )
    from tongxin.core.management.commands import rotate_pii_key

    # when the operator presses Ctrl-C during the pause after the first batch
    def ctrl_c(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rotate_pii_key.time, "sleep", ctrl_c)
    with pytest.raises(CommandError, match=r"stopped .*run rotate_pii_key again to continue"):
        call_command("rotate_pii_key", batch=1, pause=1)

    # then the batch before the interruption stays re-encrypted, and a second run finishes the rest
    def values() -> list[str]:
        return [
            value
            for model, name in rotate_pii_key.encrypted_fields()
            for value in model._base_manager.exclude(**{name: ""}).values_list(name, flat=True)
        ]

    assert len([v for v in values() if v.startswith("2:")]) == 1, "the first batch of one row is kept"
    monkeypatch.undo()
    call_command("rotate_pii_key")
    assert values() and all(v.startswith("2:") for v in values())
    assert pii.current_key_id() == "2"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("gateway.NoSuchClass", "cannot be imported"),
        ("tongxin.core.notifications.NoSuchBackend", "cannot be imported"),
        ("tongxin.core.checks.Error", "has no send"),
    ],
)
def test_check_reports_an_sms_backend_class_that_cannot_work(settings, path, message):
    # given SMS_BACKEND naming a class that does not exist or cannot send
    settings.SMS_BACKEND = path
    # when the system checks run, then each is an error naming the setting
    (problem,) = sms_backend_loads()
    assert isinstance(problem, Error)
    assert "SMS_BACKEND" in problem.msg and message in problem.msg


def test_check_accepts_a_working_sms_backend(settings):
    # given the memory backend, when checked, then nothing is reported
    settings.SMS_BACKEND = "tongxin.core.notifications.MemorySMSBackend"
    assert sms_backend_loads() == []


def test_the_worker_logs_each_message_once_through_the_project_handler():
    # given the project's logging settings, in a process of its own as the worker is
    probe = (
        "import django, logging; django.setup(); h = logging.getLogger('huey');"
        " print(len(h.handlers), type(h.handlers[0].formatter).__name__ if h.handlers else '-', h.propagate)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tongxin.settings", "LOG_FORMAT": "json"}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    # when run_huey looks for handlers on the "huey" logger (it adds a plain-text one of its own when there
    # is none), then it finds exactly the project's JSON handler, and messages do not also reach the root's
    assert result.stdout.split() == ["1", "JsonFormatter", "False"], result.stdout + result.stderr


def test_gunicorn_writes_its_own_lines_as_json_with_utc_times_like_the_app():
    # given gunicorn configured as deploy/gunicorn.conf.py does (logger_class)
    from gunicorn.config import Config

    from tongxin.core.gunicorn_logging import Logger

    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("errorlog", "-")
    log = Logger(cfg)
    # when it writes a line of its own and stamps an access-log line
    (handler,) = log.error_log.handlers
    record = log.error_log.makeRecord("gunicorn.error", logging.INFO, __file__, 1, "Booting worker", (), None)
    line = json.loads(handler.format(record))
    stamp = dt.datetime.fromisoformat(log.now())
    # then the line is the app's JSON shape, and the access time is ISO 8601 in UTC (not local Apache format)
    assert line["logger"] == "gunicorn.error" and line["message"] == "Booting worker"
    assert line["time"].endswith("+00:00")
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs((stamp - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_gunicorn_configuration_names_the_json_logger():
    # given the shipped gunicorn configuration, when gunicorn reads it, then it uses the project's logger class
    from gunicorn.config import Config

    cfg = Config()
    namespace: dict[str, object] = {"__file__": str(ROOT / "deploy" / "gunicorn.conf.py")}
    exec(compile((ROOT / "deploy" / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    cfg.set("logger_class", namespace["logger_class"])
    from tongxin.core.gunicorn_logging import Logger

    assert cfg.logger_class is Logger
