import json
import os
from pathlib import Path

from django.core.management import BaseCommand, CommandError

from tungban.core.db import unbounded
from tungban.core.errors import DomainError
from tungban.identity import seeding
from tungban.wallet.seeding import seed_devices


class Command(BaseCommand):
    help = (
        "Seed N synthetic residents (HKID numbers ZA000000(x) onwards) in bulk for benchmarks and demos; "
        "never use on a database holding real residents. By default continues after the synthetic residents "
        "already stored. With --devices D --devices-file PATH, binds a device key to the first D residents of "
        "this run and writes their PRIVATE keys to PATH (mode 0600): benchmark use only, anyone with the file "
        "can act as those residents."
    )

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, metavar="N", help="number of residents to add (N >= 1)")
        parser.add_argument(
            "--start", type=int, metavar="K", help="first synthetic index (default: after the highest one stored)"
        )
        parser.add_argument(
            "--batch-size", type=int, default=10000, metavar="B", help="rows per transaction (default 10000)"
        )
        parser.add_argument(
            "--method",
            choices=["auto", "copy", "insert"],
            default="auto",
            help="COPY (PostgreSQL only) or INSERT with executemany; auto: COPY on PostgreSQL",
        )
        parser.add_argument(
            "--devices", type=int, default=0, metavar="D", help="bind a device to the first D residents of this run"
        )
        parser.add_argument(
            "--devices-file", metavar="PATH", help="JSON file for the device keys (private JWKs; benchmark use only)"
        )

    def handle(self, *args, count, start=None, batch_size=10000, method="auto", devices=0, devices_file=None, **opts):
        if count < 1:
            raise CommandError("N must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if devices < 0 or devices > count:
            raise CommandError(f"--devices must be between 0 and N ({count}).")
        if devices and not devices_file:
            raise CommandError("--devices needs --devices-file PATH for the device keys.")
        if devices_file and not devices:
            raise CommandError("--devices-file is only used with --devices D.")
        path = Path(devices_file) if devices_file else None
        if path and not path.parent.is_dir():
            raise CommandError(f"No such directory for --devices-file: {path.parent}")

        shown = [0.0]

        def progress(done, total, elapsed):  # at most one line a second
            if done == total or elapsed - shown[0] >= 1:
                shown[0] = elapsed
                self.stdout.write(
                    f"  {done:,}/{total:,} residents, {elapsed:.1f} s, {done / max(elapsed, 1e-9):,.0f} rows/s"
                )

        try:
            with unbounded():  # COPY of millions of rows: no web statement bounds (issue 14 item 8)
                result = seeding.seed_residents(
                    count, start=start, batch_size=batch_size, progress=progress, method=method
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        first, last = result.hkids
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.count} residents ({first} … {last}) in {result.elapsed:.2f} s: "
                f"{result.rate:,.0f} rows/s ({result.method})."
            )
        )
        if devices:
            with unbounded():
                keys = seed_devices(seeding.seeded_residents(result.start, devices))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # also when the file already existed
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(keys, fh)
            self.stdout.write(
                self.style.WARNING(f"Bound {len(keys)} devices; their private keys are in {path} (benchmark use only).")
            )
