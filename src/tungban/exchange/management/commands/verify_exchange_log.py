from django.core.management import BaseCommand, CommandError

from tungban.exchange import services


class Command(BaseCommand):
    help = (
        "Verify the exchange gateway's tamper-evident log: the hash chain and every exchange record and attempt "
        "against its entry; list the attempts whose outcome is unknown."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect",
            metavar="SIZE:HASH",
            help="a head published earlier (GET /api/v1/exchange/log/head): detects a log cut back or rewritten before it",
        )

    def handle(self, *args, expect=None, **opts):
        held = None
        if expect:
            try:
                size, digest = expect.split(":", 1)
                held = (int(size), digest.strip().lower())
            except ValueError:
                raise CommandError("--expect must be SIZE:HASH, e.g. 42:9f86d0…") from None
        report = services.verify_log(expect=held)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"TAMPERED: {problem}")
            raise CommandError(f"The log does not verify: {len(report.problems)} problem(s) in {report.size} entries.")
        self.stdout.write(self.style.SUCCESS(f"OK: {report.size} entries, head {report.head_hash}"))
        unknown = services.unknown_attempts()
        if unknown:
            # Not tampering: a worker died after asking the provider (issue 14 item 4).
            self.stdout.write(
                self.style.WARNING(
                    f"{len(unknown)} attempt(s) with outcome unknown: the provider may have released the data, "
                    "the platform did not record delivery"
                )
            )
            for att in unknown:
                self.stdout.write(
                    f"  attempt {att.id} (entry {att.ledger_seq}) at {att.started_at.isoformat()}: "
                    f"{att.consumer_id} asked {att.provider_id} for {att.product_id}, request {att.request_id}"
                )
