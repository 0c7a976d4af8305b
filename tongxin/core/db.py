"""Append-only tables, enforced by the database and by the ORM.

Event tables (a case's timeline, an activity's timeline), the ledger's transactions and entries and the audit log
are written once and never changed: a correction is a new row (a reversal, a later event). The ORM refuses
``save()`` of an existing row, ``delete()`` and queryset ``update()``/``delete()`` (:class:`AppendOnlyModel`),
and the database refuses the same through raw SQL, a console or another program: :class:`AppendOnly` is a
migration operation that creates ``BEFORE UPDATE`` and ``BEFORE DELETE`` triggers raising an error, on
PostgreSQL and on SQLite. Use it in the migration that creates the table (or a later one)::

    from tongxin.core.db import AppendOnly

    operations = [..., AppendOnly("caseevent")]

Both databases answer a refused write with :class:`django.db.IntegrityError` (SQLSTATE 23000 on PostgreSQL, a
constraint error on SQLite).

What stays possible, on purpose:

* ``INSERT`` (bulk inserts and ``COPY`` included);
* dropping the table (``migrate app zero``) and ``TRUNCATE`` on PostgreSQL, which fire no row triggers — that is
  how Django's ``flush`` empties PostgreSQL between tests. SQLite has no ``TRUNCATE``: ``manage.py flush`` (the
  override in ``core/management/commands/flush.py``) lifts the triggers around its ``DELETE``s and puts them
  back;
* a foreign key ``ON DELETE CASCADE`` into an append-only table is refused like any other delete: the parent of an
  event log is not deleted either (close or cancel it instead).

On SQLite, a later migration that *alters* an append-only table is carried out by Django as "create a new table,
copy, drop the old one", which drops the old table's triggers: such a migration must end with the table's
``AppendOnly`` again. ``tongxin/core/tests/test_append_only.py`` checks that the table of every concrete
:class:`AppendOnlyModel` carries the triggers after all migrations, so a forgotten operation fails the suite.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.migrations.operations.base import Operation

FUNCTION = "tongxin_append_only"
MESSAGE = "append-only table: rows are never changed or deleted (post a correction instead)"

# Every trigger this module creates starts with this, so they can be found (tests, flush on SQLite).
TRIGGER_PREFIX = "append_only_"


def trigger_names(table: str) -> tuple[str, str]:
    """The names of the UPDATE and DELETE triggers of ``table`` (PostgreSQL uses the first for both)."""
    return f"{TRIGGER_PREFIX}{table}_upd", f"{TRIGGER_PREFIX}{table}_del"


def create_sql(vendor: str, table: str, quote: Any) -> list[str]:
    upd, dele = trigger_names(table)
    if vendor == "postgresql":
        return [
            # One shared function; CREATE OR REPLACE keeps every AppendOnly operation self-contained.
            f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: {MESSAGE}', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$""",
            f"DROP TRIGGER IF EXISTS {quote(upd)} ON {quote(table)}",
            f"CREATE TRIGGER {quote(upd)} BEFORE UPDATE OR DELETE ON {quote(table)} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
        ]
    if vendor == "sqlite":
        message = f"{table}: {MESSAGE}".replace("'", "''")
        return [
            f"DROP TRIGGER IF EXISTS {quote(upd)}",
            f"DROP TRIGGER IF EXISTS {quote(dele)}",
            f"CREATE TRIGGER {quote(upd)} BEFORE UPDATE ON {quote(table)} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
            f"CREATE TRIGGER {quote(dele)} BEFORE DELETE ON {quote(table)} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        ]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def drop_sql(vendor: str, table: str, quote: Any) -> list[str]:
    upd, dele = trigger_names(table)
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {quote(upd)} ON {quote(table)}"]
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {quote(upd)}", f"DROP TRIGGER IF EXISTS {quote(dele)}"]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def installed_tables(connection: Any) -> set[str]:
    """The tables that carry append-only triggers in ``connection``'s database now."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT DISTINCT event_object_table FROM information_schema.triggers "
                "WHERE trigger_schema = current_schema() AND trigger_name LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
            return {row[0] for row in cur.fetchall()}
        cur.execute(
            "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            [TRIGGER_PREFIX + "%"],
        )
        return {row[0] for row in cur.fetchall()}


class AppendOnly(Operation):
    """Migration operation: the table of ``model_name`` (in the migration's app) refuses UPDATE and DELETE.

    Reversible (the backwards step drops the triggers). Changes nothing in the migration state.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name.lower()

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__name__, [self.model_name], {}

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def _table(self, app_label: str, state: Any) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        conn = schema_editor.connection
        for sql in create_sql(conn.vendor, self._table(app_label, to_state), conn.ops.quote_name):
            schema_editor.execute(sql, params=None)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        conn = schema_editor.connection
        for sql in drop_sql(conn.vendor, self._table(app_label, from_state), conn.ops.quote_name):
            schema_editor.execute(sql, params=None)

    def describe(self) -> str:
        return f"Make {self.model_name} append-only (UPDATE and DELETE refused by triggers)"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name}_append_only"


# --- the ORM side ---------------------------------------------------------------------------------------------


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk inserts are fine; ``update()`` and ``delete()`` are refused before they reach the database."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionDenied(f"{self.model._meta.label} is append-only: post a correction instead")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionDenied(f"{self.model._meta.label} is append-only: post a correction instead")


class AppendOnlyModel(models.Model):
    """Abstract: rows are created once. Pair it with :class:`AppendOnly` in the table's migration."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionDenied(f"{self._meta.label} is append-only: post a correction instead")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionDenied(f"{self._meta.label} is append-only: post a correction instead")
