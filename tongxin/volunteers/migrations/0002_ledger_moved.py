"""The ledger's models now belong to the ledger app (``ledger/0001``): drop them from this app's state.

State only: the tables stay, with their rows, and are the ledger app's now.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('volunteers', '0001_initial'),
        ('ledger', '0001_initial'),
        # The points' foreign keys must point at the ledger's model before this one leaves the state.
        ('points', '0003_ledger_transaction'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='Entry'),
                migrations.DeleteModel(name='LedgerTransaction'),
                migrations.DeleteModel(name='Account'),
            ],
        ),
    ]
