import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command

from tungban.core.serving import server_command
from tungban.setup.demo import BANK_PORT, PROVIDER_PORTS


class Command(BaseCommand):
    help = "Set up demo data and run the platform (port 8000) and the sample online service (port 8100)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--service-port", type=int, default=8100)
        parser.add_argument("--workers", type=int, default=2, help="platform worker processes (stateless)")

    def handle(self, *args, port, service_port, workers, **opts):
        service_url = f"http://127.0.0.1:{service_port}"
        issuer = os.environ.get("TUNGBAN_ISSUER") or f"http://localhost:{port}"
        call_command("setup", demo=True, service_url=service_url)
        root = Path(__file__).resolve().parents[5]
        # Install the handler before any child starts: a SIGTERM that arrives
        # while the children boot must still stop them, not orphan them.
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tungban.settings",
            TUNGBAN_ISSUER=issuer,
            TUNGBAN_VAR_DIR=str(settings.VAR_DIR),
            # Card and e-wallet payments through the mock PSP served by the platform (issue 18).
            TUNGBAN_PAYMENTS_PSP=os.environ.get("TUNGBAN_PAYMENTS_PSP", "mock"),
        )
        # The production server (tungban.core.serving): a slow data provider holds a thread, not a worker.
        platform = subprocess.Popen(
            server_command(f"127.0.0.1:{port}", workers=workers, timeout=300, graceful_timeout=5, access_log=True),
            env=env,
        )
        # Background tasks (bulk issuance, bulk signing, callbacks): one worker next to the web server.
        # It also fetches yesterday's statement from the demo bank each morning (reconciliation, issue 18).
        worker = subprocess.Popen(
            [sys.executable, "-m", "tungban.cli", "worker"], env=dict(env, TUNGBAN_PAYMENTS_STATEMENT_FETCH="1")
        )
        service = subprocess.Popen(
            [sys.executable, "-m", "examples.vehicle_licence"],
            cwd=root,
            env=dict(
                env,
                PYTHONPATH=str(root),
                VL_PORT=str(service_port),
                VL_BASE_URL=service_url,
                VL_ISSUER=issuer,
                VL_CLIENT_CONFIG=str(settings.VAR_DIR / "demo-clients.json"),
            ),
        )
        # The exchange gateway's demo data providers: separate processes, as departments' systems are.
        providers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "examples.providers",
                    "--department",
                    dept,
                    "--port",
                    str(provider_port),
                    "--issuer",
                    issuer,
                    "--demo",  # a record for every resident, registered during the demo too (issue 16)
                ],
                cwd=root,
                env=dict(env, PYTHONPATH=str(root)),
            )
            for dept, provider_port in PROVIDER_PORTS.items()
        ]
        # The demo FPS participant bank (issue 18): the resident's bank, paying the FPS QR codes.
        bank = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "examples.bank",
                "--port",
                str(BANK_PORT),
                "--db",
                str(settings.VAR_DIR / "demo-bank.sqlite3"),
                "--notify-url",
                f"{issuer}/api/v1/payments/bank/notifications",
                "--payee-proxy",
                settings.TUNGBAN_PAYMENTS_FPS_PROXY,
            ],
            cwd=root,
            env=dict(
                env,
                PYTHONPATH=str(root),
                DEMO_BANK_SECRET=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
                DEMO_BANK_REQUEST_SECRET=settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET,
            ),
        )
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline and not stop["now"]:
            time.sleep(0.1)
        self.stdout.write(self.style.SUCCESS("\ntungban is running. Open:"))
        self.stdout.write(f"  Platform:             {issuer}/")
        self.stdout.write(f"  Registration counter: {issuer}/staff/")
        self.stdout.write(f"  The app (phone):      {issuer}/app/")
        self.stdout.write(f"  e-Services:           {issuer}/services/  (apply: README step 10)")
        self.stdout.write(f"  Sample service:       {service_url}/")
        self.stdout.write(
            "  Data providers:       " + ", ".join(f"{d} http://127.0.0.1:{p}" for d, p in PROVIDER_PORTS.items())
        )
        self.stdout.write(
            f"  Demo bank (FPS):      http://127.0.0.1:{BANK_PORT}/pay  (pays the e-services fees: README step 11)"
        )
        self.stdout.write("Press Ctrl-C to stop.", ending="\n")
        self.stdout.flush()
        try:
            while not stop["now"] and platform.poll() is None and service.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for proc in (platform, worker, service, bank, *providers):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in (platform, worker, service, bank, *providers):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
