from django.db import migrations


def create_tags(apps, schema_editor):
    # TAGS now carries a sensitivity (0005 adds the field); at this point in history the column is
    # `restricted`, which the watched-person tag alone had.
    from tongxin.people.choices import TAGS

    Tag = apps.get_model("people", "Tag")
    for code, name, sensitivity in TAGS:
        Tag.objects.update_or_create(
            code=code, defaults={"name": name, "restricted": sensitivity in (True, "restricted")}
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(create_tags, migrations.RunPython.noop)]
