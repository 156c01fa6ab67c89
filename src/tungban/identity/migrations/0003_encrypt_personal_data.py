# Issue 13 item 10, step 2 of 3: encrypt the values stored in clear and fill the keyed hashes.
#
# Raw SQL in batches, not the models: the encrypted fields would try to decrypt the clear
# values. Values that are already encrypted (a re-run after an interruption) are left as
# they are. The synthetic residents' ranges (identity.seeding) are recorded from their numbers
# while those can still be read.
import re

from django.db import migrations

BATCH = 5000
_SYNTHETIC = re.compile(r"^Z[A-Z][0-9]{6}[0-9A]$")

TABLES = {
    # table: (encrypted columns, the column whose keyed hash goes to hkid_hash or None)
    "identity_resident": (
        [
            "hkid",
            "family_name_en",
            "given_name_en",
            "name_zh",
            "date_of_birth",
            "residential_address",
            "billing_address",
            "phone",
            "email",
        ],
        "hkid",
    ),
    "identity_populationrecord": (["hkid", "family_name_en", "given_name_en", "name_zh", "date_of_birth"], "hkid"),
    "identity_guardianconsent": (["guardian_hkid", "guardian_name"], None),
}


def encrypt_existing(apps, schema_editor):
    from tungban.core.fields import decrypt, encrypt, is_encrypted as _is_token, lookup_hash

    connection = schema_editor.connection
    qn = connection.ops.quote_name
    synthetic = []
    for table, (columns, hashed) in TABLES.items():
        select = ", ".join(qn(c) for c in ["id", *columns])
        last = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {select} FROM {qn(table)} WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH]
                )
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            updates = []
            for row in rows:
                values = {c: (v.isoformat() if hasattr(v, "isoformat") else v) for c, v in zip(columns, row[1:], strict=True)}
                clear = {c: (decrypt(v) if _is_token(v) else (v or "")) for c, v in values.items()}
                sealed = [v if _is_token(v) else encrypt(v or "") for v in values.values()]
                if hashed:
                    sealed.append(lookup_hash(clear[hashed]))
                    if table == "identity_resident" and _SYNTHETIC.match(clear[hashed]):
                        synthetic.append((ord(clear[hashed][1]) - 65) * 10**6 + int(clear[hashed][2:8]))
                updates.append((*sealed, row[0]))
            assignments = ", ".join(f"{qn(c)} = %s" for c in [*columns, *(["hkid_hash"] if hashed else [])])
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {qn(table)} SET {assignments} WHERE id = %s", updates)
    if synthetic:
        SyntheticSeed = apps.get_model("identity", "SyntheticSeed")
        SyntheticSeed.objects.create(start=0, count=max(synthetic) + 1)


def decrypt_existing(apps, schema_editor):
    from tungban.core.fields import decrypt, is_encrypted as _is_token

    connection = schema_editor.connection
    qn = connection.ops.quote_name
    for table, (columns, _hashed) in TABLES.items():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(qn(c) for c in ['id', *columns])} FROM {qn(table)}")
            rows = cursor.fetchall()
        updates = [(*(decrypt(v) if _is_token(v) else v for v in row[1:]), row[0]) for row in rows]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {qn(table)} SET {', '.join(f'{qn(c)} = %s' for c in columns)} WHERE id = %s", updates
            )


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0002_encrypt_personal_data_schema'),
    ]

    operations = [
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
