import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command

from tungban.core.serving import server_command
from tungban.setup import federation_demo
from tungban.setup.demo import BANK_PORT, PROVIDER_PORTS


class Command(BaseCommand):
    help = "Set up demo data and run the platform (port 8000) and the sample online service (port 8100)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--service-port", type=int, default=8100)
        parser.add_argument("--workers", type=int, default=2, help="platform worker processes (stateless)")
        parser.add_argument("--anchor-port", type=int, default=federation_demo.ANCHOR_PORT)
        parser.add_argument("--gd-port", type=int, default=federation_demo.GD_PORT)
        parser.add_argument(
            "--no-federation",
            action="store_true",
            help="do not set up and start the cross-boundary trust anchor and Guangdong platform (issue 23)",
        )

    def handle(self, *args, port, service_port, workers, anchor_port, gd_port, no_federation=False, **opts):
        service_url = f"http://127.0.0.1:{service_port}"
        issuer = os.environ.get("TUNGBAN_ISSUER") or f"http://localhost:{port}"
        call_command("setup", demo=True, service_url=service_url)
        federation = None if no_federation else self._federation(issuer, anchor_port, gd_port)
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
            # The cross-boundary demo's partners are on loopback (issue 23; never in production).
            TUNGBAN_FEDERATION_ALLOW_PRIVATE=os.environ.get("TUNGBAN_FEDERATION_ALLOW_PRIVATE", "1"),
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
        # The cross-boundary trust anchor and the Guangdong platform (issue 23): separate instances.
        partners = [
            subprocess.Popen(
                server_command(f"127.0.0.1:{p}", workers=1, timeout=120, graceful_timeout=5), env=instance.env
            )
            for instance, p in (federation or {}).get("servers", [])
        ]
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
        if federation:
            info = federation["info"]
            resident = info["gd_resident"]
            self.stdout.write(f"  Cross-boundary:       {issuer}/cross-boundary/  (README step 19)")
            self.stdout.write(f"  Trust anchor:         {info['anchor']}/.well-known/openid-federation")
            self.stdout.write(f"  Guangdong platform:   {info['gd']}/  (its app: {info['gd']}/app/)")
            self.stdout.write(f"  Guangdong service:    {info['gd_service']}/")
            self.stdout.write(f"  HK cross-boundary:    {info['hk_service']}/")
            self.stdout.write(
                f"  Guangdong resident:   {resident['name']}  number {resident['hkid']}"
                f"  activation code {resident['activation_code']}  (bind the app at {info['gd']}/app/)"
            )
        self.stdout.write("Press Ctrl-C to stop.", ending="\n")
        self.stdout.flush()
        try:
            while not stop["now"] and platform.poll() is None and service.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for proc in (platform, worker, service, bank, *providers, *partners):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in (platform, worker, service, bank, *providers, *partners):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _federation(self, issuer: str, anchor_port: int, gd_port: int) -> dict:
        """Set up the cross-boundary demo (issue 23): the trust anchor and the Guangdong platform
        in ``var/federation/anchor`` and ``var/federation/gd`` (own databases and keys), all
        enrolled through the management commands (:func:`tungban.setup.federation_demo.build`).
        Returns the servers to start and what to print."""
        base = settings.VAR_DIR / "federation"
        anchor = federation_demo.Instance.create("anchor", f"http://127.0.0.1:{anchor_port}", base / "anchor")
        # GD on a host name, not an address: the web app's passkey needs one (WebAuthn relying party id).
        gd = federation_demo.Instance.create("gd", f"http://localhost:{gd_port}", base / "gd")
        self.stdout.write("Setting up the cross-boundary demo (trust anchor, Guangdong platform) …")
        template = federation_demo.migrated_template(base)
        for instance in (anchor, gd):
            instance.use_template(template)
        saved = settings.TUNGBAN_ISSUER
        settings.TUNGBAN_ISSUER = issuer  # the Hong Kong entities' identifiers are the served issuer's
        try:
            info = federation_demo.build(
                anchor, federation_demo.LocalInstance("hk", issuer, base / "hk"), gd, exchange=base / "exchange"
            )
        finally:
            settings.TUNGBAN_ISSUER = saved
        return {"info": info, "servers": [(anchor, anchor_port), (gd, gd_port)]}
