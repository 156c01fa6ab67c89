"""Prefill digests stored as plain SHA-256 (64 hex digits) become keyed HMACs (32 hex
digits, ``services.prefill_digest``): a plain hash of a date of birth or an HKID number is
reversed by trying every candidate. A ``verified`` record whose answer still matches gets
the HMAC of that answer; any other record (already ``resident_edited``, or not matching)
keeps no digest and is ``resident_edited``, as its status could never return to
``verified`` anyway. Not reversible: the plain hashes are not kept."""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import migrations


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _keyed(value) -> str:
    key = settings.TUNGBAN_LOOKUP_HASH_KEY.encode()
    return hmac.digest(key, _canonical(value).encode(), hashlib.sha256)[:16].hex()


def rekey(apps, schema_editor):
    Application = apps.get_model("eservices", "Application")
    for app in Application.objects.exclude(prefill={}).iterator():
        records = dict(app.prefill or {})
        if not any(len(str(r.get("digest", ""))) == 64 for r in records.values()):
            continue
        answers = json.loads(app.answers or "{}")
        for field, record in records.items():
            old = str(record.get("digest", ""))
            if len(old) != 64:
                continue
            value = answers.get(field)
            same = field in answers and hashlib.sha256(_canonical(value).encode()).hexdigest() == old
            if same and record.get("status") == "verified":
                records[field] = {**record, "digest": _keyed(value)}
            else:
                records[field] = {**record, "digest": "", "status": "resident_edited"}
        app.prefill = records
        app.save(update_fields=["prefill"])


class Migration(migrations.Migration):
    dependencies = [("eservices", "0003_departments_webhooks")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
