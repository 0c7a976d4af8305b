"""make backup / make restore: a round trip into a fresh database keeps every row and the encrypted fields."""

from __future__ import annotations

import datetime as dt
import os
import stat

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tongxin.conftest import build_world
from tongxin.core import backup, pii

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="pg_dump and pg_restore need PostgreSQL"),
]


@pytest.fixture
def fresh_target():
    """An empty database beside the test database, dropped afterwards."""
    source = backup.Target.from_settings()
    name = f"{connection.settings_dict['NAME']}_restore"
    target = backup.Target(name, source.user, source.password, source.host, source.port)
    with source.connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    yield target
    with source.connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip(tmp_path, settings, fresh_target):
    # given a registry with encrypted id numbers and phones, and an uploaded photo
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "cases").mkdir(parents=True)
    (tmp_path / "media" / "cases" / "p.jpg").write_bytes(b"\xff\xd8photo")
    world = build_world()
    zhang = world.residents["a1"]
    # when it is backed up (make backup) and restored into a fresh database (make restore)
    call_command("backup", "--dir", str(tmp_path / "backups"))
    (backup_dir,) = (tmp_path / "backups").iterdir()
    restored_media = tmp_path / "restored-media"
    counts = backup.restore(backup_dir, target=fresh_target, media_root=restored_media, create=True)
    # then every table has the rows it had
    assert counts == backup.table_counts(backup.Target.from_settings())
    assert counts["people_resident"] == 3 and counts["core_user"] >= 9
    # and a sample decrypts to the same person under the same key
    with fresh_target.connect() as conn:
        enc, phone_enc = conn.execute(
            "SELECT id_number_enc, phone_enc FROM people_resident WHERE id = %s", [zhang.pk]
        ).fetchone()
    assert pii.decrypt(enc) == pii.decrypt(zhang.id_number_enc)
    assert pii.decrypt(phone_enc) == "13900000001"
    # and the uploads came back
    assert (restored_media / "cases" / "p.jpg").read_bytes() == b"\xff\xd8photo"


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_is_not_empty_and_another_key(tmp_path, settings, fresh_target):
    # given a backup
    settings.MEDIA_ROOT = tmp_path / "media"
    path = backup.backup(tmp_path)
    # when restored over the live database, then it refuses and says why
    with pytest.raises(backup.BackupError, match="is not empty"):
        backup.restore(path, target=backup.Target.from_settings(), media_root=tmp_path / "m")
    # when restored under another PII key, then it refuses before touching anything
    settings.PII_KEY = "another-key-" + "x1y2z3" * 8
    with pytest.raises(backup.BackupError, match="another PII_KEY"):
        backup.restore(path, target=fresh_target, media_root=tmp_path / "m", create=True)


@pytest.mark.django_db(transaction=True)
def test_backup_is_readable_by_its_owner_only_and_named_in_utc(tmp_path, settings):
    # given a caller whose umask leaves new files world-readable, and uploads
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "p.jpg").write_bytes(b"photo")
    previous = os.umask(0o022)
    try:
        # when a backup is written (at 02:30 in Beijing, 18:30 UTC the day before)
        at = dt.datetime(2026, 11, 28, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        path = backup.backup(tmp_path / "backups", now=at.astimezone(dt.UTC))
    finally:
        os.umask(previous)
    # then its folder is 0700 and every file 0600: it holds personal data
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    files = sorted(p.name for p in path.iterdir())
    assert files == ["database.dump", "manifest.json", "media.tar.gz"]
    assert {stat.S_IMODE((path / f).stat().st_mode) for f in files} == {0o600}
    # and it is named in UTC, like the manifest's "created"
    assert path.name == "tongxin-20261127-183000"


@pytest.fixture
def role_without_createdb():
    """A login role like the one deploy.md creates (no CREATEDB), dropped afterwards."""
    source = backup.Target.from_settings()
    role = f"{connection.settings_dict['NAME']}_nocreate"
    with source.connect("postgres") as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
    yield backup.Target(f"{role}_db", role, "", source.host, source.port)
    with source.connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{role}_db" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.django_db(transaction=True)
def test_restore_create_without_the_right_says_how_to_create_the_database(
    tmp_path, settings, role_without_createdb
):
    # given a backup, and a database role that may not create databases (deploy.md's `createuser tongxin`)
    settings.MEDIA_ROOT = tmp_path / "media"
    path = backup.backup(tmp_path)
    target = role_without_createdb
    # when restore --create is asked to make a database with it
    try:
        backup.restore(path, target=target, media_root=tmp_path / "m", create=True)
    except psycopg.Error as exc:  # what it did before: a traceback from the driver
        pytest.fail(f"driver error instead of an explanation: {exc!r}")
    except backup.BackupError as exc:
        # then the answer says why and gives the command that creates it
        assert f"role {target.user!r} may not create databases" in str(exc)
        assert f"runuser -u postgres -- createdb --owner {target.user} {target.name}" in str(exc)
    else:
        pytest.fail("restore --create succeeded without the right to create databases")


def test_backup_on_sqlite_says_what_to_do_instead(settings):
    # given a laptop deployment on SQLite, when a backup is asked for, then the answer says to copy the file
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/x/tongxin.sqlite3"}}
    with pytest.raises(backup.BackupError, match=r"copy /x/tongxin\.sqlite3"):
        backup.Target.from_settings()
