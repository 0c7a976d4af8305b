"""The ledger moved from the volunteers app to its own app: a database migrated and filled at the old state keeps
every row, and the moved tables come out append-only. Runs on SQLite and (with DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tongxin.conftest import build_world
from tongxin.core.db import installed_tables
from tongxin.core.testing import assert_append_only
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.models import Account, Entry, LedgerTransaction

BEFORE_THE_MOVE = [("ledger", None), ("volunteers", "0001_initial"), ("points", "0002_initial")]
MOVED = ("account", "ledgertransaction", "entry")


def _migrate(targets: list | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_the_ledgers_after_it():
    # given the world, and no content types yet for the ledger's models (as on a database that never had them)
    world = build_world()
    ContentType.objects.filter(app_label="ledger").delete()
    # and the database migrated back to the state before the ledger app existed
    executor = _migrate(BEFORE_THE_MOVE)
    old = executor.loader.project_state([t for t in BEFORE_THE_MOVE if t[1]]).apps
    assert "volunteers_entry" not in installed_tables(connection)
    ContentType.objects.clear_cache()
    old_types = {m: ContentType.objects.get_or_create(app_label="volunteers", model=m)[0].pk for m in MOVED}
    # and rows written there by the old models: a weigh-in of 5 points to household a1
    OldAccount = old.get_model("volunteers", "Account")
    OldTransaction = old.get_model("volunteers", "LedgerTransaction")
    OldEntry = old.get_model("volunteers", "Entry")
    hh = world.residents["a1"].household
    source = OldAccount.objects.create(
        unit="points", kind="community", community_id=world.community_a.pk, name="满庭春社区"
    )
    target = OldAccount.objects.create(
        unit="points",
        kind="household",
        household_id=hh.pk,
        community_id=world.community_a.pk,
        dwelling_id=hh.dwelling_id,
        name="3栋2单元501",
        balance=Decimal("5"),
    )
    OldAccount.objects.filter(pk=source.pk).update(balance=Decimal("-5"))
    tx = OldTransaction.objects.create(
        unit="points", kind="weigh_in", idempotency_key="old:1", memo="纸板 0.5kg"
    )
    day = dt.date(2026, 11, 1)
    OldEntry.objects.create(
        transaction=tx, account=source, amount=Decimal("-5"), kind="weigh_in", value_date=day
    )
    OldEntry.objects.create(
        transaction=tx, account=target, amount=Decimal("5"), kind="weigh_in", value_date=day
    )
    waste = old.get_model("points", "WasteType").objects.create(
        community_id=world.community_a.pk, code="paper", name="纸板", rate=Decimal("10")
    )
    old.get_model("points", "WeighIn").objects.create(
        household_id=hh.pk,
        waste_type=waste,
        kg=Decimal("0.5"),
        points=Decimal("5"),
        idempotency_key="old:1",
        transaction=tx,
    )

    # when the database is migrated to the current state
    _migrate()
    ContentType.objects.clear_cache()

    # then the same rows are the ledger app's, with their balances and links
    account = Account.objects.get(pk=target.pk)
    assert account.balance == Decimal("5") == ledger.derived_balance(account)
    assert list(Entry.objects.filter(transaction_id=tx.pk).values_list("amount", flat=True)) == [-5, 5]
    assert ledger.check_balances() == [] and ledger.unbalanced_transactions() == []
    weigh_in = apps.get_model("points", "WeighIn").objects.get(idempotency_key="old:1")
    assert isinstance(weigh_in.transaction, LedgerTransaction) and weigh_in.transaction.pk == tx.pk
    # and the content types (and the permissions hanging on them) moved with the models
    assert {m: ContentType.objects.get(app_label="ledger", model=m).pk for m in MOVED} == old_types
    assert not ContentType.objects.filter(app_label="volunteers", model__in=MOVED).exists()
    # and the moved tables are append-only in the database now
    assert_append_only(Entry.objects.get(transaction_id=tx.pk, account_id=target.pk))
    assert_append_only(LedgerTransaction.objects.get(pk=tx.pk))
    # and the ledger goes on from where it was: spending 3 of the 5 points
    ledger.transfer(account, ledger.community_account(world.community_a, Unit.POINTS), Decimal("3"))
    account.refresh_from_db()
    assert account.balance == Decimal("2")


@pytest.mark.django_db(transaction=True)
def test_flush_empties_append_only_tables_and_keeps_their_triggers():
    # given ledger rows (append-only) in the database
    world = build_world()
    ledger.transfer(
        ledger.community_account(world.community_a, Unit.POINTS),
        ledger.household_account(world.residents["a1"].household, Unit.POINTS),
        Decimal("1"),
    )
    # when the database is flushed (as between tests with a live server)
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    # then the rows are gone and the tables are still append-only
    assert not Entry.objects.exists() and not LedgerTransaction.objects.exists()
    assert {"volunteers_entry", "volunteers_ledgertransaction"} <= installed_tables(connection)
