from django.db import migrations, models

from tongxin.core.db import AppendOnly


def chain_existing(apps, schema_editor):
    """Rows written before the chain existed get their hashes, in id order (once, before the triggers)."""
    from tongxin.core.audit import fields_of, row_hash

    AuditLog = apps.get_model("core", "AuditLog")
    prev = ""
    for row in AuditLog.objects.order_by("id").iterator(chunk_size=2000):
        digest = row_hash(prev, fields_of(row))
        AuditLog.objects.filter(pk=row.pk).update(prev_hash=prev, hash=digest)
        prev = digest


class Migration(migrations.Migration):
    dependencies = [("core", "0005_partition_notifications")]

    operations = [
        migrations.AddField(
            model_name="auditlog",
            name="prev_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="auditlog",
            name="hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "新增"),
                    ("update", "修改"),
                    ("delete", "删除"),
                    ("reveal", "查看明文"),
                    ("import", "导入"),
                    ("export", "导出"),
                    ("login", "登录"),
                    ("transition", "状态变更"),
                    ("archive", "归档"),
                ],
                max_length=20,
                verbose_name="操作",
            ),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        AppendOnly("auditlog"),
    ]
