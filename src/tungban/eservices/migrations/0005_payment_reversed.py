# The fee's payment reversed after a decision: a case for the officers (pay-left item 1).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('eservices', '0004_keyed_prefill_digests'),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='payment_reversed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='payment reversed after the decision at'),
        ),
    ]
