from django.db import migrations

from tongxin.core.db import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("doorstep", "0001_initial")]

    operations = [AppendOnly("requestevent")]
