"""``manage.py purge_private_files``: delete uploaded import files and other private files past their retention.

See tongxin.core.retention for what is deleted and what is kept. ``--dry-run`` lists what would go and deletes
nothing; ``--days`` overrides ``PRIVATE_FILE_RETENTION_DAYS`` for this run. The worker runs it every night.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tongxin.core import retention


class Command(BaseCommand):
    help = (
        "Delete files under PRIVATE_ROOT (and old uploads under MEDIA_ROOT/imports) older than the retention "
        "period, except those an unfinished import still needs (docs/operations.md, Retention)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="delete files older than this (default PRIVATE_FILE_RETENTION_DAYS)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be deleted; delete nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = retention.purge_private_files(options["days"], dry_run=options["dry_run"])
        except ValueError as e:
            raise CommandError(f"--days: {e}") from None
        verb = "would delete" if result.dry_run else "deleted"
        for path, age in result.deleted:
            self.stdout.write(f"{verb} {path} ({age:.1f} days old)")
        for path, job in result.kept:
            self.stdout.write(f"kept {path}: unfinished import #{job} still needs it")
        self.stdout.write(
            f"{verb} {len(result.deleted)} files ({result.bytes} bytes) last changed before "
            f"{timezone.localtime(result.cutoff):%Y-%m-%d %H:%M %Z}; kept {len(result.kept)} needed by unfinished imports"
        )
