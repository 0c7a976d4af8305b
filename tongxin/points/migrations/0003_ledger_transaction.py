"""Weigh-ins and redemptions point at the ledger's transactions, now owned by the ledger app.

The table is the same (``volunteers_ledgertransaction``), so the database keeps its foreign keys: state only.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
        ('points', '0002_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='redemption',
                    name='transaction',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='redemption', to='ledger.ledgertransaction'),
                ),
                migrations.AlterField(
                    model_name='weighin',
                    name='transaction',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='weigh_in', to='ledger.ledgertransaction'),
                ),
            ],
        ),
    ]
