"""``tungban witness``: :mod:`tungban.ledger.witness` as a management command (the module
also runs on its own, without Django: ``python -m tungban.ledger.witness``)."""

from django.core.management import BaseCommand, CommandError

from tungban.ledger import witness


class Command(BaseCommand):
    help = (
        "Witness the transparency log from outside: check every signed tree head published since the one kept "
        "in the state file (signature, consistency proof), keep the newest; exit 1 on a rollback or inconsistency."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base", required=True, help="the platform's base URL, e.g. https://tungban.example")
        parser.add_argument("--state", required=True, help="file keeping the last head accepted")
        parser.add_argument("--keys", help="a JWKS file with the log's public keys (default: {base}/oidc/jwks)")
        parser.add_argument(
            "--from-start", action="store_true", help="first run: check every head, not the latest only"
        )

    def handle(self, *args, base, state, keys=None, from_start=False, **opts):
        argv = (
            ["--base", base, "--state", state]
            + (["--keys", keys] if keys else [])
            + (["--from-start"] if from_start else [])
        )
        lines: list[str] = []
        code = witness.main(argv, out=lines.append)
        if code == witness.EXIT_OK:
            for line in lines:
                self.stdout.write(self.style.SUCCESS(line))
            return
        for line in lines[1:]:
            self.stderr.write(line)
        raise CommandError(lines[0] if lines else "the witness failed", returncode=code)
