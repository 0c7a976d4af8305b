"""Assertions shared by the apps' tests (imported by tests only)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, transaction


def assert_append_only(obj: Any) -> None:
    """A raw SQL ``UPDATE`` and ``DELETE`` of ``obj``'s row fail in the database itself (the triggers of
    :class:`tongxin.core.db.AppendOnly`), and the row is still there afterwards."""
    meta = obj._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    for sql in (f"UPDATE {table} SET {pk} = {pk} WHERE {pk} = %s", f"DELETE FROM {table} WHERE {pk} = %s"):
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, [obj.pk])
        except IntegrityError as err:
            assert "append-only" in str(err), err
        else:
            raise AssertionError(f"{sql} was not refused on {meta.db_table}")
    assert type(obj)._base_manager.filter(pk=obj.pk).exists()
