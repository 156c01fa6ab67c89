# Written by hand (issue 18: the platform's electronic seal for e-receipts), as makemigrations makes it.

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('signing', '0003_verbose_names'),
    ]

    operations = [
        migrations.CreateModel(
            name='PlatformSeal',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('purpose', models.CharField(max_length=40, verbose_name='purpose')),
                ('name', models.CharField(max_length=64, verbose_name='name in the certificate')),
                ('serial', models.CharField(help_text='Certificate serial, hex', max_length=40, unique=True, verbose_name='serial number')),
                ('certificate_der', models.BinaryField(verbose_name='certificate')),
                ('keystore', models.CharField(choices=[('pkcs11', 'PKCS#11'), ('software', 'Software (encrypted at rest)')], max_length=10, verbose_name='keystore')),
                ('key_label', models.CharField(max_length=64, verbose_name='key label')),
                ('software_key_pem', models.BinaryField(blank=True, null=True, verbose_name='encrypted key')),
                ('not_before', models.DateTimeField(verbose_name='valid from')),
                ('not_after', models.DateTimeField(verbose_name='valid until')),
                ('status', models.CharField(choices=[('active', 'Valid'), ('revoked', 'Revoked')], default='active', max_length=10, verbose_name='status')),
                ('revoked_at', models.DateTimeField(blank=True, null=True, verbose_name='revoked at')),
                ('revocation_reason', models.CharField(blank=True, max_length=40, verbose_name='revocation reason')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
            ],
            options={
                'verbose_name': 'platform seal',
                'verbose_name_plural': 'platform seals',
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'active')), fields=('purpose',), name='one_active_seal_per_purpose')],
            },
        ),
    ]
