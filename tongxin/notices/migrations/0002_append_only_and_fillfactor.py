from django.db import migrations

from tongxin.core.db import AppendOnly


def fillfactor(apps, schema_editor):
    # PostgreSQL only: room in each page for the updated row version, so recording a receipt is a HOT update
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE notices_receipt SET (fillfactor = 90)")


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_initial")]

    operations = [
        AppendOnly("noticeevent"),
        migrations.RunPython(fillfactor, migrations.RunPython.noop),
    ]
