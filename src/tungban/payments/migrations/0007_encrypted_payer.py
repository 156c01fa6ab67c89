"""Personal data of payers encrypted at rest (review finding 10), and the payer's account kept
for refunds (finding 6).

- ``CreditTransfer.debtor_name`` and ``Refund.creditor_name`` become encrypted text, and
  ``RefundBatch.xml`` and ``Receipt.pdf`` (they name payers) encrypted binary: each column is
  first a plain column of its final database type, its rows are encrypted in place
  (:func:`tungban.core.fields.encrypt` / ``encrypt_bytes``), then it becomes the encrypted field
  (no schema change: the same column type). Reversible (decrypts).
- ``CreditTransfer.debtor_account``: new, encrypted.
- The payment orders of bills no longer carry the bill's account number in full in their
  descriptions (shown without a login at the kiosk and on ``/pay/<order>/``): it is masked.
"""

from django.db import migrations, models

import tungban.core.fields
from tungban.core.fields import decrypt, decrypt_bytes, encrypt, encrypt_bytes

TEXT = (("CreditTransfer", "debtor_name"), ("Refund", "creditor_name"))
BINARY = (("RefundBatch", "xml"), ("Receipt", "pdf"))
PREFIX = "a1:"


def _rows(model, field):
    return model._base_manager.exclude(**{f"{field}__isnull": True}).values_list("pk", field).iterator(chunk_size=500)


def encrypt_rows(apps, schema_editor):
    for name, field in TEXT:
        model = apps.get_model("payments", name)
        for pk, value in list(_rows(model, field)):
            if value and not value.startswith(PREFIX):
                model._base_manager.filter(pk=pk).update(**{field: encrypt(value)})
    for name, field in BINARY:
        model = apps.get_model("payments", name)
        for pk, value in list(_rows(model, field)):
            data = bytes(value)
            if data and not data.startswith(PREFIX.encode()):
                model._base_manager.filter(pk=pk).update(**{field: encrypt_bytes(data)})


def decrypt_rows(apps, schema_editor):
    for name, field in TEXT:
        model = apps.get_model("payments", name)
        for pk, value in list(_rows(model, field)):
            if value and value.startswith(PREFIX):
                model._base_manager.filter(pk=pk).update(**{field: decrypt(value)})
    for name, field in BINARY:
        model = apps.get_model("payments", name)
        for pk, value in list(_rows(model, field)):
            data = bytes(value)
            if data.startswith(PREFIX.encode()):
                model._base_manager.filter(pk=pk).update(**{field: decrypt_bytes(data)})


def _mask(account: str) -> str:
    chars = [c for c in account if c.isalnum()]
    return "****" + ("".join(chars[-4:]) if len(chars) > 4 else "")


def mask_bill_accounts(apps, schema_editor):
    """Orders of bills: the account number in their descriptions and line labels masked
    (as :func:`tungban.payments.services.bills.public_text`, frozen here)."""
    Bill = apps.get_model("payments", "Bill")
    for bill in Bill.objects.select_related("order").iterator(chunk_size=500):  # account: encrypted, no lookups
        account, order = bill.account, bill.order
        if not account or order is None:
            continue
        masked = _mask(account)
        changed = False
        for attr in ("description_en", "description_zh"):
            text = getattr(order, attr)
            if account in text:
                setattr(order, attr, text.replace(account, masked))
                changed = True
        lines = []
        for line in order.lines or []:
            line = dict(line)
            for key in ("label_en", "label_zh"):
                if account in str(line.get(key, "")):
                    line[key] = line[key].replace(account, masked)
                    changed = True
            lines.append(line)
        if changed:
            order.lines = lines
            order.save(update_fields=["description_en", "description_zh", "lines"])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_statement_truth"),
    ]

    operations = [
        migrations.AddField(
            model_name="credittransfer",
            name="debtor_account",
            field=tungban.core.fields.EncryptedTextField(blank=True, default="", verbose_name="payer's account"),
        ),
        # plain columns of the final types first (varchar → text), then encrypted in place
        migrations.AlterField(
            model_name="credittransfer",
            name="debtor_name",
            field=models.TextField(blank=True, default="", verbose_name="payer's name"),
        ),
        migrations.AlterField(
            model_name="refund",
            name="creditor_name",
            field=models.TextField(blank=True, default="", verbose_name="payer's name"),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows, elidable=False),
        migrations.RunPython(mask_bill_accounts, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="credittransfer",
            name="debtor_name",
            field=tungban.core.fields.EncryptedTextField(blank=True, default="", verbose_name="payer's name"),
        ),
        migrations.AlterField(
            model_name="receipt",
            name="pdf",
            field=tungban.core.fields.EncryptedBinaryField(blank=True, null=True, verbose_name="signed PDF"),
        ),
        migrations.AlterField(
            model_name="refund",
            name="creditor_name",
            field=tungban.core.fields.EncryptedTextField(blank=True, default="", verbose_name="payer's name"),
        ),
        migrations.AlterField(
            model_name="refundbatch",
            name="xml",
            field=tungban.core.fields.EncryptedBinaryField(verbose_name="instruction file"),
        ),
    ]
