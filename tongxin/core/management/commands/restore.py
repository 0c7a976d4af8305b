from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.core import backup


class Command(BaseCommand):
    help = (
        "Restore a backup directory into an empty PostgreSQL database (DATABASE_URL, or --database-url) and its"
        " uploads into MEDIA_ROOT; checks every table's row count against the backup (docs/operations.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", help="a tongxin-YYYYmmdd-HHMMSS directory written by `backup`")
        parser.add_argument("--database-url", default="", help="restore into this database instead")
        parser.add_argument(
            "--create", action="store_true", help="create the database first (must not exist)"
        )
        parser.add_argument("--media-root", default="", help="extract the uploads here instead of MEDIA_ROOT")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            target = (
                backup.Target.from_url(options["database_url"])
                if options["database_url"]
                else backup.Target.from_settings()
            )
            counts = backup.restore(
                Path(options["backup"]),
                target=target,
                media_root=Path(options["media_root"]) if options["media_root"] else None,
                create=options["create"],
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"restored into {target.name}: {len(counts)} tables, {sum(counts.values())} rows, counts as backed up"
        )
