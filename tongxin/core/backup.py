"""Backup and restore of a PostgreSQL deployment (docs/operations.md, "Backup and restore").

A backup is a directory ``tongxin-YYYYmmdd-HHMMSS/`` (UTC, like the manifest's ``created``) holding ``database.dump`` (``pg_dump --format=custom``),
``media.tar.gz`` (the uploads under MEDIA_ROOT) and ``manifest.json`` (when, which database, the row count of every
table, and the fingerprint of the PII key the encrypted columns need). It is written under a temporary name and
renamed when complete, so a directory with a manifest is a whole backup. A restore goes into an empty database
only, and refuses a backup whose PII key fingerprint differs from the configured key (its encrypted fields would
be unreadable). Backups hold personal data: the directory is written 0700 and its files 0600 whatever the
caller's umask.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import psycopg
from django.conf import settings
from psycopg import sql


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """Connection parameters of one PostgreSQL database."""

    name: str
    user: str
    password: str
    host: str
    port: str

    @classmethod
    def from_settings(cls) -> Target:
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("postgresql"):
            raise BackupError(
                "backup and restore work on PostgreSQL (DATABASE_URL); this deployment uses SQLite: stop the"
                f" server and copy {db['NAME']} instead"
            )
        return cls(
            db["NAME"], db["USER"], db.get("PASSWORD", ""), db["HOST"] or "127.0.0.1", str(db["PORT"] or 5432)
        )

    @classmethod
    def from_url(cls, url: str) -> Target:
        p = urlparse(url)
        if p.scheme not in {"postgres", "postgresql"}:
            raise BackupError(f"not a postgres:// URL: {url!r}")
        return cls(
            unquote(p.path.lstrip("/")),
            unquote(p.username or "postgres"),
            unquote(p.password or ""),
            p.hostname or "127.0.0.1",
            str(p.port or 5432),
        )

    def args(self) -> list[str]:
        return ["--host", self.host, "--port", self.port, "--username", self.user, "--dbname", self.name]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, dbname: str = "") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=dbname or self.name,
            autocommit=True,
        )


def key_fingerprint(key: str | None = None) -> str:
    """A short, one-way fingerprint of the PII key (safe to write down next to a backup)."""
    material = key if key is not None else settings.PII_KEY
    return hashlib.sha256(b"tongxin-pii-key-fingerprint:" + material.encode()).hexdigest()[:16]


def known_fingerprints() -> set[str]:
    """Fingerprints of every PII key this deployment can read with: the current one and PII_OLD_KEYS."""
    old = getattr(settings, "PII_OLD_KEYS", {}) or {}
    return {key_fingerprint(), *(key_fingerprint(secret) for secret in old.values())}


def table_counts(target: Target) -> dict[str, int]:
    """Rows of every table in the public schema (exact counts)."""
    with target.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        return {
            t: int(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0])  # type: ignore[index]
            for t in tables
        }


def _run(cmd: list[str], target: Target) -> None:
    tool = shutil.which(cmd[0])
    if tool is None:
        raise BackupError(f"{cmd[0]} is not installed: apt-get install -y postgresql-client")
    result = subprocess.run([tool, *cmd[1:]], env=target.env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files and directories made inside are readable by their owner only (umask 077), pg_dump's included."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def backup(directory: Path, *, target: Target | None = None, now: dt.datetime | None = None) -> Path:
    """Write a complete backup under ``directory``; returns its path."""
    target = target or Target.from_settings()
    with private_files():
        return _backup(Path(directory), target, now or dt.datetime.now(dt.UTC))


def _backup(directory: Path, target: Target, now: dt.datetime) -> Path:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    final = directory / f"tongxin-{stamp}"
    if final.exists():
        raise BackupError(f"{final} exists already")
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
    partial.chmod(PRIVATE_DIR_MODE)
    _run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(partial / "database.dump"),
            *target.args(),
        ],
        target,
    )
    media = Path(settings.MEDIA_ROOT)
    with tarfile.open(partial / "media.tar.gz", "w:gz") as tar:
        if media.is_dir():
            tar.add(media, arcname="media")
    manifest = {
        "format": 1,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": target.name,
        "pii_key_fingerprint": key_fingerprint(),
        "pii_key_id": str(getattr(settings, "PII_KEY_ID", "1")),
        "tables": table_counts(target),
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    for written in partial.iterdir():
        written.chmod(PRIVATE_FILE_MODE)
    partial.rename(final)
    return final


def read_manifest(backup_dir: Path) -> dict[str, Any]:
    path = Path(backup_dir) / "manifest.json"
    if not path.is_file():
        raise BackupError(f"{backup_dir} is not a complete backup (no manifest.json)")
    return dict(json.loads(path.read_text()))


def restore(
    backup_dir: Path, *, target: Target | None = None, media_root: Path | None = None, create: bool = False
) -> dict[str, int]:
    """Load ``backup_dir`` into the empty database ``target`` (created first with ``create``) and its uploads into
    ``media_root``; returns the restored table counts (equal to the manifest's, or BackupError)."""
    target = target or Target.from_settings()
    manifest = read_manifest(backup_dir)
    if manifest["pii_key_fingerprint"] not in known_fingerprints():
        raise BackupError(
            "this backup was made under another PII_KEY (fingerprint "
            f"{manifest['pii_key_fingerprint']}, configured {key_fingerprint()}): set the PII_KEY it was made with,"
            " or list it in PII_OLD_KEYS (docs/operations.md, 'Key custody'), or its encrypted fields cannot be read"
        )
    by_hand = f"runuser -u postgres -- createdb --owner {target.user or 'tongxin'} NAME"
    if create:
        try:
            with target.connect("postgres") as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
        except psycopg.errors.InsufficientPrivilege:
            raise BackupError(
                f"the database role {target.user!r} may not create databases, so --create cannot make"
                f" {target.name}: create it as the postgres user ({by_hand.replace('NAME', target.name)})"
                " and run restore again without --create"
            ) from None
        except psycopg.errors.DuplicateDatabase:
            raise BackupError(
                f"database {target.name} exists already: --create makes a new database; name another one,"
                " or restore into this one without --create if it is empty"
            ) from None
    with target.connect() as conn:
        existing = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    if existing and existing[0]:
        raise BackupError(
            f"database {target.name} is not empty ({existing[0]} tables): restore into a fresh database instead"
            f" — create one ({by_hand.replace('NAME', target.name + '_restored')}) and name it with"
            " --database-url or DATABASE_URL, or let --create make it"
        )
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            *target.args(),
            str(Path(backup_dir) / "database.dump"),
        ],
        target,
    )
    media_archive = Path(backup_dir) / "media.tar.gz"
    if media_archive.is_file():
        root = Path(media_root or settings.MEDIA_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(media_archive) as tar:
            members = [m for m in tar.getmembers() if m.name == "media" or m.name.startswith("media/")]
            for member in members:
                member.name = member.name[len("media/") :] if member.name != "media" else "."
            tar.extractall(root, members=members, filter="data")
    counts = table_counts(target)
    expected = manifest["tables"]
    differing = {t: (n, counts.get(t)) for t, n in expected.items() if counts.get(t) != n}
    if differing:
        raise BackupError(f"restored row counts differ from the backup's: {differing}")
    return counts
