import os

from django.core.management import BaseCommand

from tungban.core.serving import gunicorn_command


class Command(BaseCommand):
    help = (
        "Run the platform's web processes (gunicorn, gthread workers: tungban.core.serving). "
        "Arguments after -- go to gunicorn as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT, unix:PATH or fd://N")
        parser.add_argument("--workers", type=int, help="processes (default TUNGBAN_WEB_WORKERS, else one per core)")
        parser.add_argument("--threads", type=int, help="threads per process (default TUNGBAN_WEB_THREADS, 8)")
        parser.add_argument("--timeout", type=int, help="seconds before a silent worker is restarted (60)")
        parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
        parser.add_argument("gunicorn_args", nargs="*", help="more gunicorn options (after --)")

    def handle(self, *args, bind, workers, threads, timeout, dry_run, gunicorn_args, **opts):
        argv = gunicorn_command(bind, workers=workers, threads=threads, timeout=timeout, extra=tuple(gunicorn_args))
        if dry_run:
            self.stdout.write(" ".join(argv))
            return
        # exec: gunicorn becomes this process (its PID is the one systemd's Type=notify expects).
        os.execv(argv[0], argv)
