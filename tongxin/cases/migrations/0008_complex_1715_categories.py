"""Attach the "1715 复杂问题" policy (on site in 10 min, plan within 1 day, 15 days) to the property matters that
need it: a new category 物业疑难 under 物业服务. Repairs keep their own tiers (小修 1 d, 中修 7 d, 大修 15 d)."""

from django.db import migrations


def forwards(apps, schema_editor):
    DeadlinePolicy = apps.get_model("cases", "DeadlinePolicy")
    Category = apps.get_model("cases", "Category")
    policy = DeadlinePolicy.objects.filter(code="1715-complex").first()
    parent = Category.objects.filter(service_code="property").first()
    if policy is None or parent is None:
        return
    Category.objects.get_or_create(
        service_code="property-complex",
        defaults={
            "name": "物业疑难",
            "parent": parent,
            "handler_kind": "property_company",
            "policy": policy,
            "keywords": ["反复", "多户", "公共部位", "协调", "疑难"],
            "description": "红色物业1715机制：10分钟到场，复杂问题1天内形成方案",
            "sort_order": parent.sort_order,
        },
    )


def backwards(apps, schema_editor):
    apps.get_model("cases", "Category").objects.filter(
        service_code="property-complex", cases__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_step_reminders")]
    operations = [migrations.RunPython(forwards, backwards)]
