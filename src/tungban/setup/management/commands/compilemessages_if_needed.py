import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command


class Command(BaseCommand):
    help = "Compile .po translations when a .mo file is missing or older (needs GNU gettext)."

    def handle(self, *args, **opts):
        stale = []
        for base in settings.LOCALE_PATHS:
            for po in Path(base).rglob("*.po"):
                mo = po.with_suffix(".mo")
                if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                    stale.append(po)
        if stale and shutil.which("msgfmt"):
            call_command("compilemessages", verbosity=0)
