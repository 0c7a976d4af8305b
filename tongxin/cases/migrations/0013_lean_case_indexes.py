"""Eleven of the case table's 38 indexes go (issue 15): on PostgreSQL each of the ~40 monthly partitions carries
every one of them, every intake writes an entry into each, and every statement that cannot be pruned to one month
is planned over all of them (a case by id: 8 ms of planning → 5.5 ms at 10 M cases).

* the single-column indexes Django adds to foreign keys whose column already leads a composite index
  (category, community, subdistrict, grid, property company, department, reporter);
* ``channel`` (seven values: an index that matches one row in seven helps no query; the lists filter it inside
  the community's or grid's rows) and its ``varchar_pattern_ops`` twin;
* the ``varchar_pattern_ops`` twins of ``receipt_code`` and ``contact_phone_hash`` (both are only ever compared
  whole; ``number`` keeps its twin for the workbench's number-prefix search).

Only indexes are dropped: Django's ``AlterField`` would also drop and re-validate each foreign key over every
row, so the database side is done here by name and the model state follows. Reversible.
"""

import django.db.models.deletion
from django.db import migrations, models

CASE_TABLE = "cases_case"
# (column, suffix): the plain index Django made for the column, and its varchar_pattern_ops twin on PostgreSQL
DROPPED = (
    ("category_id", ""),
    ("community_id", ""),
    ("subdistrict_id", ""),
    ("grid_id", ""),
    ("property_company_id", ""),
    ("department_id", ""),
    ("reporter_id", ""),
    ("channel", ""),
    ("channel", "_like"),
    ("receipt_code", "_like"),
    ("contact_phone_hash", "_like"),
)


def _indexes(schema_editor):
    for column, suffix in DROPPED:
        if suffix == "_like" and schema_editor.connection.vendor != "postgresql":
            continue
        yield column, suffix, schema_editor._create_index_name(CASE_TABLE, [column], suffix=suffix)


def drop(apps, schema_editor):
    for _column, _suffix, name in _indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def restore(apps, schema_editor):
    for column, suffix, name in _indexes(schema_editor):
        ops = " varchar_pattern_ops" if suffix == "_like" else ""
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
            f"ON {schema_editor.quote_name(CASE_TABLE)} ({schema_editor.quote_name(column)}{ops})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_partition_cases"),
        ("people", "0005_tag_sensitivity"),
        ("regions", "0002_district_and_city"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, restore)],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="category",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="cases.category",
                        verbose_name="类别",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="channel",
                    field=models.CharField(
                        choices=[
                            ("hotline", "24小时热线"),
                            ("suggestion_box", "群众意见箱"),
                            ("grid_patrol", "网格巡查"),
                            ("front_desk", "服务窗口"),
                            ("resident_app", "居民手机端"),
                            ("api", "接口"),
                            ("open311", "Open311"),
                        ],
                        max_length=16,
                        verbose_name="渠道",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="community",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="regions.region",
                        verbose_name="社区",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="department",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="regions.department",
                        verbose_name="承办部门",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="grid",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="regions.grid",
                        verbose_name="网格",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="property_company",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="regions.propertycompany",
                        verbose_name="物业公司",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="reporter",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="cases",
                        to="people.resident",
                        verbose_name="反映人",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="subdistrict",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="regions.region",
                        verbose_name="街道",
                    ),
                ),
            ],
        ),
    ]
