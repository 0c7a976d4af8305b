"""``manage.py rotate_pii_key``: re-encrypt every personal-data value under the current key and cipher.

Set the new key first (``PII_KEY`` and a new ``PII_KEY_ID``; the old key moves to ``PII_OLD_KEYS``), restart the
app, then run this. It walks every ``*_enc`` field of every model in primary-key batches; a value already under the
current key and cipher is skipped, every other one is decrypted and encrypted again and written back only if the
row still holds the value that was read (a compare-and-swap, so a value the app changed meanwhile is not
overwritten). It can therefore run while the app serves requests, be stopped at any point and started again
(``--resume`` is implied: finished rows are skipped), and a second run changes nothing. ``--check`` only counts
what is left. When it reports 0 left, the old key can be removed from ``PII_OLD_KEYS`` — except key id 1 while
it is the lookup key (see tongxin.core.pii).
"""

from __future__ import annotations

import time
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction

from tongxin.core import audit, pii
from tongxin.core.models import AuditLog


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) holding encrypted personal data: the text fields named ``*_enc``."""
    out = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if field.name.endswith("_enc") and isinstance(field, models.TextField | models.CharField):
                out.append((model, field.name))
    return out


def rotate_field(
    model: type[models.Model], name: str, batch: int, pause: float, dry_run: bool
) -> tuple[int, int]:
    """Re-encrypt one field of one model; returns (values re-encrypted or left, values already current)."""
    manager = model._base_manager
    last_pk: Any = None
    changed = current = 0
    while True:
        qs = manager.exclude(**{name: ""}).order_by("pk")
        if last_pk is not None:
            qs = qs.filter(pk__gt=last_pk)
        rows = list(qs.values_list("pk", name)[:batch])
        if not rows:
            return changed, current
        last_pk = rows[-1][0]
        todo = [(pk, value) for pk, value in rows if not pii.is_current(value)]
        current += len(rows) - len(todo)
        if dry_run:
            changed += len(todo)
            continue
        with transaction.atomic():
            for pk, value in todo:
                # write back only if nobody changed the value since it was read
                changed += manager.filter(pk=pk, **{name: value}).update(**{name: pii.reencrypt(value)})
        if pause:
            time.sleep(pause)


class Command(BaseCommand):
    help = "Re-encrypt personal data under the current PII key and cipher (batched, resumable, idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to sleep between batches")
        parser.add_argument("--check", action="store_true", help="only count the values not yet re-encrypted")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._rotate(options)
        except KeyboardInterrupt:
            # every finished batch is committed; the one in flight was rolled back
            raise CommandError(
                "stopped (Ctrl-C). Values re-encrypted so far are kept; run rotate_pii_key again to continue"
                " (`rotate_pii_key --check` counts what is left)."
            ) from None

    def _rotate(self, options: dict[str, Any]) -> None:
        total_changed = total_current = 0
        for model, name in encrypted_fields():
            changed, current = rotate_field(model, name, options["batch"], options["pause"], options["check"])
            total_changed += changed
            total_current += current
            verb = "to re-encrypt" if options["check"] else "re-encrypted"
            self.stdout.write(f"{model._meta.label}.{name}: {changed} {verb}, {current} already current")
        if options["check"]:
            self.stdout.write(f"{total_changed} left under older keys (key now {pii.current_key_id()})")
            return
        audit.record(
            AuditLog.Action.UPDATE,
            object_type="core.pii_key",
            object_id=pii.current_key_id(),
            after={
                "reencrypted": total_changed,
                "already_current": total_current,
                "cipher": pii.current_cipher(),
            },
        )
        self.stdout.write(f"done: {total_changed} re-encrypted, {total_current} already current")
