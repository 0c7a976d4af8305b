from django.db import migrations

from tongxin.core.db import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("care", "0001_initial")]

    operations = [AppendOnly("visitevent")]
