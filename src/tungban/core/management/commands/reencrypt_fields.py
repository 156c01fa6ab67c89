"""``tungban reencrypt_fields``: re-encrypt every encrypted column under the current key.

Key rotation (issue 13 item 10, :mod:`tungban.core.fields`): put a new key first in
``TUNGBAN_FIELD_ENCRYPTION_KEYS`` (keep the old ones after it), run this command, then drop
the old keys. Rows are read (any configured key decrypts) and written back (the first key
encrypts) in batches, each in its own transaction, so it can be interrupted and run again.
"""

from django.apps import apps
from django.core.management import BaseCommand
from django.db import transaction

from tungban.core.db import unbounded
from tungban.core.fields import EncryptedBinaryField, EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column (HKID numbers, e-ME contact data) under the current key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, metavar="B", help="rows per transaction")

    def handle(self, *args, batch_size=1000, **opts):
        with unbounded():  # millions of rows: no web statement bounds (issue 14 item 8)
            self._reencrypt(batch_size)

    def _reencrypt(self, batch_size: int) -> None:
        for model in apps.get_models():
            names = [
                f.name for f in model._meta.concrete_fields if isinstance(f, (EncryptedTextField, EncryptedBinaryField))
            ]
            if not names:
                continue
            done, last = 0, None
            while True:
                rows = model._base_manager.order_by("pk").only("pk", *names)
                if last is not None:
                    rows = rows.filter(pk__gt=last)
                batch = list(rows[:batch_size])
                if not batch:
                    break
                with transaction.atomic():
                    model._base_manager.bulk_update(batch, names)
                done += len(batch)
                last = batch[-1].pk
            self.stdout.write(f"{model._meta.label}: {done} rows re-encrypted ({', '.join(names)})")
