"""``manage.py opendata_dcat [--base URL]``: build the DCAT-AP catalogue's per-dataset
fragments (JSON-LD and Turtle) ahead of the first request, e.g. after a deployment or a bulk
import (issue 21; :mod:`tungban.opendata.dcat`). Idempotent: fragments already kept are
read, not rebuilt."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from tungban.opendata import dcat


class Command(BaseCommand):
    help = "Build the DCAT-AP catalogue's cached per-dataset fragments (JSON-LD and Turtle)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base",
            default=settings.TUNGBAN_ISSUER,
            help="the public base URL the catalogue is served under (default: TUNGBAN_ISSUER)",
        )

    def handle(self, *args, base, **options):
        base = base.rstrip("/")
        for fmt in dcat.FORMATS:
            t0 = time.perf_counter()
            size = sum(len(chunk) for chunk in dcat.catalog_chunks(base, fmt))
            self.stdout.write(f"catalog.{fmt}: {size:,} bytes in {time.perf_counter() - t0:.1f} s")
