from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.core import backup


class Command(BaseCommand):
    help = "Back up the PostgreSQL database and the uploads into a new directory (docs/operations.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", default="var/backups", help="where to create tongxin-YYYYmmdd-HHMMSS/")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = backup.backup(Path(options["dir"]))
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = backup.read_manifest(path)
        rows = sum(manifest["tables"].values())
        self.stdout.write(f"backup written: {path} ({len(manifest['tables'])} tables, {rows} rows)")
