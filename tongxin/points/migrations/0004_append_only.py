"""Weigh-ins and redemptions are append-only in the database: UPDATE and DELETE are refused by triggers
(tongxin.core.db.AppendOnly), like the ledger transactions they record."""

from django.db import migrations

from tongxin.core.db import AppendOnly


class Migration(migrations.Migration):

    dependencies = [
        ('points', '0003_ledger_transaction'),
    ]

    operations = [
        AppendOnly('weighin'),
        AppendOnly('redemption'),
    ]
