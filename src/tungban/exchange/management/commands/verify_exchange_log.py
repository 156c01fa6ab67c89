from django.core.management import BaseCommand, CommandError

from tungban.exchange import services


class Command(BaseCommand):
    help = (
        "Verify the exchange gateway's tamper-evident log: the hash chain and every exchange record against its entry."
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
