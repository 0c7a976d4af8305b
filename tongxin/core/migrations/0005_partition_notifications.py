# Issue 15: in-app notifications partitioned by month on PostgreSQL (declarative partitioning, tongxin/core/partitions.py).
# Works on an existing database: the rows, indexes, foreign keys, checks and triggers are carried over. SQLite
# keeps the plain table. Django's model state does not change (the table keeps its columns and names).

from django.db import migrations


def partition(apps, schema_editor):
    from tongxin.core import partitions

    partitions.convert(partitions.NOTIFICATIONS, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_notification_delivery_no_fk")]

    # the partitioned table reads and writes like the plain one: going back leaves it partitioned
    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
