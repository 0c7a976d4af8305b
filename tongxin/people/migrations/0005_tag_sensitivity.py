from django.db import migrations, models

# Sensitivity of the tags the system ships (people/choices.py TAGS); other tags keep "restricted" when they were.
SENSITIVE = ("elderly_alone", "disabled", "hypertension", "diabetes", "tuberculosis", "low_income", "left_behind_child")


def forwards(apps, schema_editor):
    Tag = apps.get_model("people", "Tag")
    Tag.objects.filter(restricted=True).update(sensitivity="restricted")
    Tag.objects.filter(restricted=False, code__in=SENSITIVE).update(sensitivity="sensitive")


def backwards(apps, schema_editor):
    Tag = apps.get_model("people", "Tag")
    Tag.objects.filter(sensitivity="restricted").update(restricted=True)


class Migration(migrations.Migration):
    dependencies = [("people", "0004_byte_order_indexes")]

    operations = [
        migrations.AddField(
            model_name="tag",
            name="sensitivity",
            field=models.CharField(
                choices=[
                    ("ordinary", "一般"),
                    ("sensitive", "敏感（健康、低保、残疾、关爱）"),
                    ("restricted", "受限（重点人员）"),
                ],
                default="ordinary",
                help_text="敏感、受限标签仅居民名册的管理角色可见（见 docs/access.md）",
                max_length=10,
                verbose_name="敏感级别",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="tag", name="restricted"),
    ]
