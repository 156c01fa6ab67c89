import os

from django.core.management import BaseCommand

from tungban.core.serving import SERVERS, server_command


class Command(BaseCommand):
    help = (
        "Run the platform's web processes (granian by default: tungban.core.serving, TUNGBAN_WEB_SERVER). "
        "Arguments after -- go to the server as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT, unix:PATH or fd://N (not granian)")
        parser.add_argument("--server", choices=SERVERS, help="the HTTP server (default TUNGBAN_WEB_SERVER, granian)")
        parser.add_argument("--workers", type=int, help="processes (default TUNGBAN_WEB_WORKERS, else one per core)")
        parser.add_argument("--threads", type=int, help="threads per process (default TUNGBAN_WEB_THREADS, 8)")
        parser.add_argument("--timeout", type=int, help="seconds (TUNGBAN_WEB_TIMEOUT, 60; see tungban.core.serving)")
        parser.add_argument(
            "--graceful-timeout", type=int, help="seconds a stopping worker may finish its requests (30)"
        )
        parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
        parser.add_argument("server_args", nargs="*", help="more options for the server (after --)")

    def handle(self, *args, bind, server, workers, threads, timeout, graceful_timeout, dry_run, server_args, **opts):
        argv = server_command(
            bind,
            server=server,
            workers=workers,
            threads=threads,
            timeout=timeout,
            graceful_timeout=graceful_timeout or 30,
            extra=tuple(server_args),
        )
        if dry_run:
            self.stdout.write(" ".join(argv))
            return
        # exec: the server becomes this process (the PID systemd supervises).
        os.execv(argv[0], argv)
