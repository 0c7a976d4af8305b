"""The ledger moves from the volunteers app to its own app without touching the data.

The tables keep their names (``volunteers_account``, ``volunteers_ledgertransaction``, ``volunteers_entry``, set
as ``db_table``), so this migration changes only Django's idea of which app owns the models
(``SeparateDatabaseAndState`` with no database operations). ``points/0003`` re-points its foreign keys and
``volunteers/0002`` drops the models from the volunteers app's state. On a database created before the move the
rows stay where they are; on a new database the tables are created by ``volunteers/0001`` as before.

The content types of the three models (and with them their admin permissions) are renamed to the ledger app.
"""

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

MOVED = ("account", "ledgertransaction", "entry")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not ContentType.objects.using(db).filter(app_label="ledger", model=model).exists():
            ContentType.objects.using(db).filter(app_label="volunteers", model=model).update(app_label="ledger")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not ContentType.objects.using(db).filter(app_label="volunteers", model=model).exists():
            ContentType.objects.using(db).filter(app_label="ledger", model=model).update(app_label="volunteers")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The tables were created here, and the models were defined here until now.
        ('volunteers', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Account',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('unit', models.CharField(choices=[('hours', '时长'), ('points', '积分')], max_length=8, verbose_name='单位')),
                        ('kind', models.CharField(choices=[('person', '个人'), ('household', '家庭'), ('community', '社区'), ('unit', '共建单位')], max_length=10, verbose_name='账户类型')),
                        ('name', models.CharField(max_length=100, verbose_name='户名')),
                        ('balance', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14, verbose_name='余额')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('co_building_unit', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_accounts', to='party.cobuildingunit')),
                        ('community', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger_accounts', to='regions.region', verbose_name='社区')),
                        ('dwelling', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='regions.dwelling')),
                        ('household', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_accounts', to='people.household')),
                        ('resident', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_accounts', to='people.resident')),
                    ],
                    options={
                        'verbose_name': '账户',
                        'verbose_name_plural': '账户',
                        'db_table': 'volunteers_account',
                        'ordering': ['id'],
                    },
                ),
                migrations.CreateModel(
                    name='LedgerTransaction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('unit', models.CharField(choices=[('hours', '时长'), ('points', '积分')], max_length=8, verbose_name='单位')),
                        ('kind', models.CharField(choices=[('earn', '服务计时'), ('case', '接单办结'), ('spend', '兑换服务'), ('transfer', '转赠'), ('weigh_in', '垃圾分类'), ('award', '奖励'), ('redeem', '积分兑换'), ('expire', '积分过期'), ('reversal', '冲正')], db_index=True, max_length=10, verbose_name='类型')),
                        ('idempotency_key', models.CharField(blank=True, max_length=120, null=True, unique=True)),
                        ('memo', models.CharField(blank=True, max_length=200, verbose_name='摘要')),
                        ('value_date', models.DateField(db_index=True, default=django.utils.timezone.localdate, verbose_name='记账日期')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='时间')),
                        ('community', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='regions.region')),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('reverses', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversed_by', to='ledger.ledgertransaction')),
                    ],
                    options={
                        'verbose_name': '交易',
                        'verbose_name_plural': '交易',
                        'db_table': 'volunteers_ledgertransaction',
                        'ordering': ['-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Entry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='金额')),
                        ('kind', models.CharField(choices=[('earn', '服务计时'), ('case', '接单办结'), ('spend', '兑换服务'), ('transfer', '转赠'), ('weigh_in', '垃圾分类'), ('award', '奖励'), ('redeem', '积分兑换'), ('expire', '积分过期'), ('reversal', '冲正')], max_length=10)),
                        ('value_date', models.DateField(verbose_name='记账日期')),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='ledger.account')),
                        ('transaction', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='ledger.ledgertransaction')),
                    ],
                    options={
                        'verbose_name': '分录',
                        'verbose_name_plural': '分录',
                        'db_table': 'volunteers_entry',
                        'ordering': ['id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='account',
                    constraint=models.UniqueConstraint(condition=models.Q(('kind', 'person')), fields=('unit', 'resident'), name='account_one_per_person'),
                ),
                migrations.AddConstraint(
                    model_name='account',
                    constraint=models.UniqueConstraint(condition=models.Q(('kind', 'household')), fields=('unit', 'household'), name='account_one_per_household'),
                ),
                migrations.AddConstraint(
                    model_name='account',
                    constraint=models.UniqueConstraint(condition=models.Q(('kind', 'community')), fields=('unit', 'community'), name='account_one_per_community'),
                ),
                migrations.AddConstraint(
                    model_name='account',
                    constraint=models.UniqueConstraint(condition=models.Q(('kind', 'unit')), fields=('unit', 'co_building_unit', 'community'), name='account_one_per_unit'),
                ),
                migrations.AddIndex(
                    model_name='entry',
                    index=models.Index(fields=['account', 'value_date'], name='entry_account_date'),
                ),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
