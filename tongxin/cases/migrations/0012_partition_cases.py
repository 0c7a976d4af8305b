# Issue 15: cases partitioned by month of submission on PostgreSQL (declarative partitioning,
# tongxin/core/partitions.py). Works on an existing database, and back: the global unique keys (case number,
# receipt code, idempotency key) move into the plain key table `cases_casekey`, kept in step by triggers; every
# foreign key into `cases_case` (timeline, photos, whistle calls, care visits, sensor alerts, disputes, assembly
# matters, routing feedback, merged cases) is re-pointed at the key table at the database level. SQLite keeps the
# plain table. Django's model state does not change (same columns, names and relations).

from django.db import migrations


def partition(apps, schema_editor):
    from tongxin.core import partitions

    partitions.convert(partitions.CASES, schema_editor)


def unpartition(apps, schema_editor):
    from tongxin.core import partitions

    partitions.unconvert(partitions.CASES, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_rated_by_call"),
        # the migrations that made the foreign keys into cases_case: they must exist to be re-pointed
        ("assembly", "0001_initial"),
        ("care", "0001_initial"),
        ("cases_routing", "0001_initial"),
        ("mediation", "0001_initial"),
        ("sensors", "0001_initial"),
    ]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
