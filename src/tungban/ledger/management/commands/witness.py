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
        parser.add_argument(
            "--max-age",
            type=int,
            help="seconds the newest head may be old before the log is STALE (default: 2 × the larger of "
            "TUNGBAN_TREE_HEAD_INTERVAL and TUNGBAN_PURGE_INTERVAL)",
        )

    def handle(self, *args, base, state, keys=None, from_start=False, max_age=None, **opts):
        from django.conf import settings

        if max_age is None:  # the scheduled head is made by the purge run (review of issue 14, H1 a)
            max_age = 2 * max(settings.TUNGBAN_TREE_HEAD_INTERVAL, settings.TUNGBAN_PURGE_INTERVAL)
        argv = (
            ["--base", base, "--state", state, "--max-age", str(max_age)]
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
