"""Activity events take the shape of every event table (tongxin.core.events.EventBase) and become append-only in
the database: UPDATE and DELETE of a row are refused by triggers (tongxin.core.db.AppendOnly).

The field changes are labels and ``on_delete`` (CASCADE -> PROTECT: an activity with a history is cancelled,
not deleted); none changes a column.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from tongxin.core.db import AppendOnly


class Migration(migrations.Migration):

    dependencies = [
        ('volunteers', '0002_ledger_moved'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='activityevent',
            options={'ordering': ['at', 'id'], 'verbose_name': '活动事件', 'verbose_name_plural': '活动事件'},
        ),
        migrations.AlterField(
            model_name='activityevent',
            name='activity',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='volunteers.activity'),
        ),
        migrations.AlterField(
            model_name='activityevent',
            name='actor',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='操作人'),
        ),
        migrations.AlterField(
            model_name='activityevent',
            name='at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='时间'),
        ),
        migrations.AlterField(
            model_name='activityevent',
            name='payload',
            field=models.JSONField(blank=True, default=dict, verbose_name='详情'),
        ),
        migrations.AlterField(
            model_name='activityevent',
            name='type',
            field=models.CharField(max_length=30, verbose_name='事件'),
        ),
        AppendOnly('activityevent'),
    ]
