"""Transactions and entries are append-only in the database too: UPDATE and DELETE are refused by triggers
(tongxin.core.db.AppendOnly). Account balances (a cache of the entries) stay updatable."""

from django.db import migrations

from tongxin.core.db import AppendOnly


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
    ]

    operations = [
        AppendOnly('ledgertransaction'),
        AppendOnly('entry'),
    ]
