"""``tungban export_refunds [--department CODE] [--date YYYY-MM-DD]``: make the day's refund
instruction files (ISO 20022 pain.001, one per department) from every approved refund, as an
officer's "Make today's file" does — for cron at the end of the business day. Idempotent: a
department's file of a day is made once."""

import datetime as dt

from django.core.management import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.payments import refunds
from tungban.payments.models_refunds import Refund, RefundState


class Command(BaseCommand):
    help = "Make the day's refund instruction files (pain.001), one per department with approved refunds."

    def add_arguments(self, parser):
        parser.add_argument("--department", help="Only this department (code, e.g. FEHD).")
        parser.add_argument("--date", help="Business day (YYYY-MM-DD); today in Hong Kong by default.")

    def handle(self, *args, department=None, date=None, **opts):
        try:
            on = dt.date.fromisoformat(date) if date else refunds.business_date()
        except ValueError:
            raise CommandError("--date must be YYYY-MM-DD") from None
        codes = (
            [department.upper()]
            if department
            else sorted(
                {
                    code or ""  # a refund of a transfer applied to no order: the Treasury's file
                    for code in Refund.objects.filter(state=RefundState.APPROVED, batch__isnull=True).values_list(
                        "order__department", flat=True
                    )
                }
            )
        )
        for code in codes:
            try:
                batch = refunds.export_batch(code, on=on)
            except DomainError as exc:
                self.stdout.write(f"{code}: {exc.message}")
                continue
            self.stdout.write(f"{code}: {batch.message_id} — {batch.count} refunds, sha256 {batch.sha256}")
