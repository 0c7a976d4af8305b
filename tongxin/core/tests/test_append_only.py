"""Append-only tables: every model built on AppendOnlyModel refuses UPDATE and DELETE in the database, and the
migration operation that makes a table so can be undone. (Each app tests its own tables with
``tongxin.core.testing.assert_append_only``.)"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction

from tongxin.core.db import AppendOnly, AppendOnlyModel, create_sql, drop_sql, installed_tables

pytestmark = pytest.mark.django_db


def test_every_append_only_model_has_its_triggers_after_all_migrations():
    # given the test database, built by running every migration
    models = [m for m in apps.get_models() if issubclass(m, AppendOnlyModel)]
    # then each append-only model's table carries the triggers (a migration that forgot AppendOnly, or a later
    # SQLite table rebuild that dropped them, fails here)
    assert models, "no append-only model found"
    missing = sorted({m._meta.db_table for m in models} - installed_tables(connection))
    assert missing == []


def test_triggers_refuse_raw_update_and_delete_and_can_be_dropped():
    # given a scratch table made append-only with the same SQL the migration operation runs
    quote = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE scratch_events (id integer PRIMARY KEY, note varchar(20))")
        for sql in create_sql(connection.vendor, "scratch_events", quote):
            cur.execute(sql)
        cur.execute("INSERT INTO scratch_events (id, note) VALUES (1, 'first')")  # inserts are fine
    # when the row is updated or deleted with raw SQL, then the database refuses
    for sql in ("UPDATE scratch_events SET note = 'changed'", "DELETE FROM scratch_events"):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql)
    # when the triggers are dropped (the operation's backwards step), then the table is ordinary again
    with connection.cursor() as cur:
        for sql in drop_sql(connection.vendor, "scratch_events", quote):
            cur.execute(sql)
        cur.execute("UPDATE scratch_events SET note = 'changed'")
        cur.execute("SELECT note FROM scratch_events")
        assert cur.fetchone()[0] == "changed"
        cur.execute("DROP TABLE scratch_events")


def test_the_operation_describes_and_deconstructs_itself():
    op = AppendOnly("CaseEvent")
    assert op.deconstruct() == ("AppendOnly", ["caseevent"], {})
    assert "caseevent" in op.describe()
    assert op.migration_name_fragment == "caseevent_append_only"


def test_the_orm_refuses_changes_before_the_database_sees_them():
    # given any append-only model, when its queryset is updated or deleted, then the ORM refuses at once
    model = next(m for m in apps.get_models() if issubclass(m, AppendOnlyModel))
    with pytest.raises(PermissionDenied):
        model.objects.all().update(pk=0)
    with pytest.raises(PermissionDenied):
        model.objects.all().delete()
