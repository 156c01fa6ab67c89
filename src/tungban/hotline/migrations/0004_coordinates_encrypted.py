"""A case's coordinates encrypted at rest like its address (issue 22 review: exact
coordinates can be a home's position): ``lat``/``long`` become one encrypted ``coordinates``
text ("lat,long", six decimals); existing values are copied, then the clear columns dropped."""

import tungban.core.fields
from django.db import migrations


def copy_coordinates(apps, schema_editor):
    Case = apps.get_model("hotline", "Case")
    for case in Case.objects.exclude(lat=None).only("id", "lat", "long").iterator():
        case.coordinates = f"{case.lat:.6f},{case.long:.6f}" if case.long is not None else f"{case.lat:.6f},"
        case.save(update_fields=["coordinates"])


def copy_back(apps, schema_editor):
    Case = apps.get_model("hotline", "Case")
    for case in Case.objects.all().iterator():  # an encrypted field takes no lookup: test in Python
        if not case.coordinates:
            continue
        lat, _, long = case.coordinates.partition(",")
        case.lat = lat or None
        case.long = long or None
        case.save(update_fields=["lat", "long"])


class Migration(migrations.Migration):
    dependencies = [
        ("hotline", "0003_sassist_faq_keywords"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="coordinates",
            field=tungban.core.fields.EncryptedTextField(blank=True, verbose_name="coordinates"),
        ),
        migrations.RunPython(copy_coordinates, copy_back),
        migrations.RemoveField(model_name="case", name="lat"),
        migrations.RemoveField(model_name="case", name="long"),
    ]
