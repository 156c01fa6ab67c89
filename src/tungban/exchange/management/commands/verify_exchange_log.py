from django.core.management import BaseCommand, CommandError

from tungban.exchange import services


class Command(BaseCommand):
    help = (
        "Verify the exchange gateway's log: the transparency log (RFC 9162) and every exchange record and attempt "
        "against its leaf, and the retired hash chain with what was logged there before; list the attempts whose "
        "outcome is unknown."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect",
            metavar="SIZE:ROOT",
            help="a head published earlier (GET /api/v1/log/heads: tree_size and base64 root_hash; or a retired chain "
            "head SIZE:HEX): detects a log cut back or rewritten before it",
        )

    def handle(self, *args, expect=None, **opts):
        held = None
        if expect:
            try:
                size, digest = expect.split(":", 1)
                held = (int(size), digest.strip())
            except ValueError:
                raise CommandError(
                    "--expect must be SIZE:ROOT, e.g. 42:3q2+7w…= (or SIZE:HEX for the retired chain)"
                ) from None
        report = services.verify_log(expect=held)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"TAMPERED: {problem}")
            raise CommandError(
                f"The log does not verify: {len(report.problems)} problem(s) in {report.records} exchange records."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {report.records} exchange records in the transparency log of {report.tree_size} leaves "
                f"(root {report.root_hash}); {report.legacy_entries} entries in the retired hash chain"
            )
        )
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
                    f"  attempt {att.id} at {att.started_at.isoformat()}: "
                    f"{att.consumer_id} asked {att.provider_id} for {att.product_id}, request {att.request_id}"
                )
