from django.db import migrations


def create_tags(apps, schema_editor):
    from tongxin.people.choices import TAGS

    Tag = apps.get_model("people", "Tag")
    for code, name, restricted in TAGS:
        Tag.objects.update_or_create(code=code, defaults={"name": name, "restricted": restricted})


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(create_tags, migrations.RunPython.noop)]
