"""``manage.py verify_audit``: check the audit log's hash chain and name the first broken link.

Exit status 0 when the chain holds (the head hash is printed: write it down somewhere else, so a rewritten chain
is caught too), 1 when it does not. ``--archive FILE`` checks an export written by ``archive_audit`` instead.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from tongxin.core import audit


def read_archive(path: Path) -> list[dict[str, Any]]:
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            row["at"] = parse_datetime(row["at"])
            rows.append(row)
    return rows


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (or an archive file) and report the first broken link."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--archive", type=Path, help="verify this archive file instead of the database")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["archive"]:
            rows = read_archive(options["archive"])
            anchor = rows[0]["prev_hash"] if rows else ""
            verdict = audit.verify_rows(rows, {anchor})
        else:
            verdict = audit.verify()
        if not verdict.ok:
            raise CommandError(f"audit chain broken at {verdict.broken} (after {verdict.rows - 1} good rows)")
        self.stdout.write(f"audit chain intact: {verdict.rows} rows, head {verdict.head or '-'}")
