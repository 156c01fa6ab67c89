import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command


class Command(BaseCommand):
    help = "Set up demo data and run the platform (port 8000) and the sample online service (port 8100)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--service-port", type=int, default=8100)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, port, service_port, workers, **opts):
        call_command("setup", demo=True)
        root = Path(__file__).resolve().parents[5]
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="tungban.settings")
        platform = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tungban.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers), "--access-logfile", "-"],
            env=env,
        )
        service = subprocess.Popen(
            [sys.executable, "-m", "examples.vehicle_licence"],
            cwd=root,
            env=dict(env, VL_PORT=str(service_port), VL_ISSUER=settings.TUNGBAN_ISSUER, VL_CLIENT_CONFIG=str(settings.VAR_DIR / "demo-clients.json"), PYTHONPATH=str(root)),
        )
        time.sleep(1.5)
        self.stdout.write(self.style.SUCCESS("\ntungban is running. Open:"))
        self.stdout.write(f"  Platform:             {settings.TUNGBAN_ISSUER}/")
        self.stdout.write(f"  Registration counter: {settings.TUNGBAN_ISSUER}/staff/")
        self.stdout.write(f"  The app (phone):      {settings.TUNGBAN_ISSUER}/app/")
        self.stdout.write(f"  Sample service:       http://127.0.0.1:{service_port}/")
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            while platform.poll() is None and service.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for proc in (platform, service):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in (platform, service):
                proc.wait(timeout=10)
