"""``python -m examples.bank``: run the demo FPS participant bank (from the repository root).

::

    python -m examples.bank [--port 8301] [--host 127.0.0.1] [--db var/demo-bank.sqlite3] \\
        [--notify-url http://localhost:8000/api/v1/payments/bank/notifications] \\
        [--secret-file var/payments_bank_secret] \
        [--request-secret-file var/payments_bank_request_secret] [--payee-proxy collect@tungban.invalid]

One key per direction, each shared with the platform: the notifications' key (bank → platform)
comes from ``DEMO_BANK_SECRET``, else the file ``--secret-file`` (the platform's
``var/payments_bank_secret``); the key of the platform's statement requests (platform → bank)
from ``DEMO_BANK_REQUEST_SECRET``, else ``--request-secret-file`` (the platform's
``var/payments_bank_request_secret``); both generated at set-up. The first line on standard
output is ``demo-bank listening on http://HOST:PORT`` (``--port 0`` takes a free port), what
:mod:`examples.bank.launch` waits for before ``/health``. Werkzeug's threaded server: this is a
demo, one process (its notification retries run in a thread of it).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app
from .statements import COLLECTION_ACCOUNT

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT = 8301


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


def main(argv: list[str] | None = None) -> None:
    var = Path(os.environ.get("TUNGBAN_VAR_DIR", ROOT / "var"))
    parser = argparse.ArgumentParser(prog="python -m examples.bank", description="tungban's demo FPS participant bank")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--db", default=str(var / "demo-bank.sqlite3"), help="the ledger (SQLite file)")
    parser.add_argument("--notify-url", default="http://localhost:8000/api/v1/payments/bank/notifications")
    parser.add_argument("--secret-file", default=str(var / "payments_bank_secret"))
    parser.add_argument("--request-secret-file", default=str(var / "payments_bank_request_secret"))
    parser.add_argument("--payee-proxy", default=os.environ.get("DEMO_BANK_PAYEE_PROXY", ""))
    parser.add_argument(
        "--collection-account",
        default=os.environ.get("DEMO_BANK_COLLECTION_ACCOUNT", COLLECTION_ACCOUNT),
        help="the payee's account number in its statements (the platform's TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT)",
    )
    parser.add_argument(
        "--notify-max-attempts",
        type=int,
        default=int(os.environ.get("DEMO_BANK_NOTIFY_MAX_ATTEMPTS", "0")),
        help="give a notification up after this many failed attempts (0: keep trying)",
    )
    args = parser.parse_args(argv)
    secret = os.environ.get("DEMO_BANK_SECRET") or Path(args.secret_file).read_text().strip()
    request_secret = os.environ.get("DEMO_BANK_REQUEST_SECRET") or Path(args.request_secret_file).read_text().strip()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(
        ledger_path=args.db,
        notify_url=args.notify_url,
        secret=secret,
        request_secret=request_secret,
        payee_proxy=args.payee_proxy,
        collection_account=args.collection_account,
        notify_max_attempts=args.notify_max_attempts,
    )
    server = make_server(args.host, args.port, app, threaded=True, request_handler=_QuietHandler)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"demo-bank listening on http://{host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.config["DEMO_BANK"]["notifier"].stop()


if __name__ == "__main__":
    main()
