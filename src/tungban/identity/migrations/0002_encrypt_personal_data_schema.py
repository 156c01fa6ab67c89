# Issue 13 item 10, step 1 of 3: columns for encrypted values and keyed hashes.
import tungban.core.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='SyntheticSeed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('start', models.PositiveIntegerField()),
                ('count', models.PositiveIntegerField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name='populationrecord',
            name='hkid_hash',
            field=tungban.core.fields.LookupHashField(editable=False, max_length=64, null=True, source='hkid'),
        ),
        migrations.AddField(
            model_name='resident',
            name='hkid_hash',
            field=tungban.core.fields.LookupHashField(editable=False, max_length=64, null=True, source='hkid'),
        ),
        migrations.AlterField(
            model_name='guardianconsent',
            name='guardian_hkid',
            field=tungban.core.fields.EncryptedTextField(verbose_name="Parent or guardian's HKID number"),
        ),
        migrations.AlterField(
            model_name='populationrecord',
            name='hkid',
            field=tungban.core.fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name='resident',
            name='billing_address',
            field=tungban.core.fields.EncryptedTextField(blank=True, verbose_name='Billing address'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='email',
            field=tungban.core.fields.EncryptedTextField(blank=True, verbose_name='Email'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='hkid',
            field=tungban.core.fields.EncryptedTextField(help_text='Canonical form, e.g. A1234563', verbose_name='HKID number'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='phone',
            field=tungban.core.fields.EncryptedTextField(blank=True, verbose_name='Phone'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='residential_address',
            field=tungban.core.fields.EncryptedTextField(blank=True, verbose_name='Residential address'),
        ),
            migrations.AlterField(
            model_name='guardianconsent',
            name='guardian_name',
            field=tungban.core.fields.EncryptedTextField(verbose_name="Parent or guardian's name"),
        ),
        migrations.AlterField(
            model_name='populationrecord',
            name='date_of_birth',
            field=tungban.core.fields.EncryptedDateField(),
        ),
        migrations.AlterField(
            model_name='populationrecord',
            name='family_name_en',
            field=tungban.core.fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name='populationrecord',
            name='given_name_en',
            field=tungban.core.fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name='populationrecord',
            name='name_zh',
            field=tungban.core.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='resident',
            name='date_of_birth',
            field=tungban.core.fields.EncryptedDateField(verbose_name='Date of birth'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='family_name_en',
            field=tungban.core.fields.EncryptedTextField(verbose_name='Surname (English)'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='given_name_en',
            field=tungban.core.fields.EncryptedTextField(verbose_name='Given name (English)'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='name_zh',
            field=tungban.core.fields.EncryptedTextField(blank=True, verbose_name='Name (Chinese)'),
        ),
    ]
