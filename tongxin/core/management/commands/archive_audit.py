"""``manage.py archive_audit``: move audit rows older than the retention period to a compressed file.

Rows older than ``--days`` (default ``AUDIT_RETENTION_DAYS``; never fewer than 183, the six months the
网络安全法 requires) are written, oldest first, to ``AUDIT_ARCHIVE_DIR/audit-<first>-<last>.jsonl.gz`` with
their hashes, the file is synced, then one transaction appends a checkpoint row (action ``archive``: the file's
name and sha256, the row count and the hash of the last archived row) and deletes the archived rows with the
append-only triggers lifted for that transaction only. The remaining chain continues from the checkpoint, so
``verify_audit`` still verifies; ``verify_audit --archive FILE`` verifies a file. Running it again with nothing
old enough does nothing. The folder is made 0700 and the files 0600: the rows hold who looked at whose data.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from tongxin.core import audit
from tongxin.core.backup import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, private_files
from tongxin.core.db import create_sql, drop_sql
from tongxin.core.models import AuditLog

MIN_DAYS = 183


def _delete_through(last_id: int) -> int:
    """Delete audit rows up to ``last_id`` with the triggers lifted (inside the caller's transaction)."""
    table = AuditLog._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cur:
        for sql in drop_sql(connection.vendor, table, quote):
            cur.execute(sql)
        cur.execute(f"DELETE FROM {quote(table)} WHERE id <= %s", [last_id])
        deleted = cur.rowcount
        for sql in create_sql(connection.vendor, table, quote):
            cur.execute(sql)
    return deleted


class Command(BaseCommand):
    help = "Export audit rows older than the retention period to a compressed file, then remove them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=None, help="keep this many days (at least 183)")
        parser.add_argument("--out", type=Path, default=None, help="folder for the archive files")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.AUDIT_RETENTION_DAYS
        if days < MIN_DAYS:
            raise CommandError(
                f"audit rows are kept at least {MIN_DAYS} days (网络安全法); --days {days} refused"
            )
        out: Path = options["out"] or Path(settings.AUDIT_ARCHIVE_DIR)
        cutoff = timezone.now() - dt.timedelta(days=days)
        last_id = AuditLog.objects.filter(at__lt=cutoff).order_by("-id").values_list("id", flat=True).first()
        if last_id is None:
            self.stdout.write("nothing to archive")
            return
        verdict = audit.verify()
        if not verdict.ok:
            raise CommandError(f"audit chain broken at {verdict.broken}: fix or investigate before archiving")
        rows = list(
            AuditLog.objects.filter(id__lte=last_id)
            .order_by("id")
            .values("id", "prev_hash", "hash", *audit.HASHED_FIELDS)
        )
        path = out / f"audit-{rows[0]['id']:010d}-{last_id:010d}.jsonl.gz"
        tmp = path.with_suffix(".tmp")
        with private_files():
            if not out.is_dir():
                out.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
                out.chmod(PRIVATE_DIR_MODE)
            with gzip.open(tmp, "wt", encoding="utf-8") as fh:
                for row in rows:
                    line = {
                        **row,
                        "at": row["at"].isoformat(timespec="microseconds"),
                    }  # the hash covers microseconds
                    fh.write(json.dumps(line, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n")
        tmp.chmod(PRIVATE_FILE_MODE)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
            digest = hashlib.sha256(fh.read()).hexdigest()
        tmp.replace(path)
        with transaction.atomic():
            audit.record(
                AuditLog.Action.ARCHIVE,
                object_type="core.auditlog",
                object_id=f"{rows[0]['id']}-{last_id}",
                after={
                    "file": path.name,
                    "sha256": digest,
                    "rows": len(rows),
                    "first_id": rows[0]["id"],
                    "through_id": last_id,
                    "through_hash": rows[-1]["hash"],
                    "before": cutoff.isoformat(),
                },
            )
            deleted = _delete_through(last_id)
        self.stdout.write(f"archived {deleted} audit rows to {path} (sha256 {digest})")
