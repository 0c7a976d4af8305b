"""``manage.py flush`` that also works on SQLite with append-only tables.

Django empties PostgreSQL with ``TRUNCATE`` (no row triggers fire) but SQLite with ``DELETE FROM``, which the
append-only triggers of :mod:`tongxin.core.db` refuse. On SQLite this command lifts those triggers, flushes and
puts the same triggers back. Tests that use a live server or ``transactional_db`` flush through here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections

from tongxin.core.db import TRIGGER_PREFIX


class Command(DjangoFlush):
    help = DjangoFlush.help + " On SQLite, append-only triggers are lifted for the flush and restored."

    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
            triggers = cur.fetchall()
            for name, _sql in triggers:
                cur.execute(f"DROP TRIGGER {quote(name)}")
        try:
            super().handle(**options)
        finally:
            with connection.cursor() as cur:
                for _name, sql in triggers:
                    cur.execute(sql)
