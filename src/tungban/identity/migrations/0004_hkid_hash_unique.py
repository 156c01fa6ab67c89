# Issue 13 item 10, step 3 of 3: one account per HKID number, now through its keyed hash.
import tungban.core.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0003_encrypt_personal_data'),
    ]

    operations = [
        migrations.AlterField(
            model_name='populationrecord',
            name='hkid_hash',
            field=tungban.core.fields.LookupHashField(editable=False, max_length=64, source='hkid', unique=True),
        ),
        migrations.AlterField(
            model_name='resident',
            name='hkid_hash',
            field=tungban.core.fields.LookupHashField(editable=False, max_length=64, source='hkid', unique=True),
        ),
    ]
