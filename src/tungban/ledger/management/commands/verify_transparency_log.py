from django.core.management import BaseCommand, CommandError

from tungban.ledger import audit
from tungban.ledger.merkle import b64


class Command(BaseCommand):
    help = (
        "Verify the transparency log (RFC 9162 Merkle tree): every leaf hash against its body, every stored node "
        "and signed tree head against the leaves, the heads' signatures, and that the log only grew."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect",
            metavar="SIZE:ROOT",
            help="a signed tree head kept earlier (GET /api/v1/log/head: tree_size and base64 root_hash): detects a log cut back or rewritten before it",
        )
        parser.add_argument(
            "--skip-signatures", action="store_true", help="do not check the signed tree heads' JWS signatures (faster)"
        )

    def handle(self, *args, expect=None, skip_signatures=False, **opts):
        held = None
        if expect:
            try:
                size, root = expect.split(":", 1)
                held = (int(size), root.strip())
            except ValueError:
                raise CommandError(
                    "--expect must be SIZE:ROOT, e.g. 42:3q2+7w…= (the base64 root_hash of a signed tree head)"
                ) from None
        report = audit.verify_log(expect=held, signatures=not skip_signatures)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"TAMPERED: {problem}")
            raise CommandError(
                f"The transparency log does not verify: {len(report.problems)} problem(s) in {report.tree_size} leaves."
            )
        root = b64(report.root_hash)
        self.stdout.write(
            self.style.SUCCESS(f"OK: {report.tree_size} leaves, {report.heads} signed tree heads, root {root}")
        )
