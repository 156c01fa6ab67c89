"""``python -m examples.providers``: run one demo CDEG data provider (run from the repository root).

::

    python -m examples.providers --department wsd --port 8201 --issuer http://localhost:8000 \\
        [--host 127.0.0.1] [--fault slow|bad-schema|error] [--delay SECONDS] [--synthetic] [--demo] \\
        [--server granian|werkzeug] [--threads N]

Serves the Flask app of :mod:`examples.providers.app` as a department would in production:
by default with granian (``--server granian``, the WSGI server the platform itself runs,
:mod:`tungban.core.serving`): HTTP/1.1 keep-alive, the HTTP parsing and the connections in
Rust outside the GIL, **one** worker process (the replay cache is in the process's memory:
one process per department) of ``--threads`` blocking threads (requests served at once:
default :data:`THREADS`, the platform's ``TUNGBAN_WEB_THREADS``; :data:`SLOW_THREADS` with
``--fault slow``, whose requests sleep). The worker is granian's child process and dies with
it; SIGTERM stops both (the requests running get :data:`KILL_TIMEOUT` s). ``--server
werkzeug`` is Werkzeug's threaded development server (``werkzeug.serving.make_server(...,
threaded=True)``: a thread per connection and the HTTP parsing in Python, about twice the
CPU per request, ``bench/provider_cpu.py --http granian,werkzeug``; kept to compare).

``--port 0`` takes any free port: it is bound here first (``SO_REUSEPORT``, never listening,
so it takes no connection), and granian's worker binds the same port. The first line on
standard output is always ``cdeg-provider <department> listening on http://HOST:PORT``
(what :mod:`examples.providers.launch` waits for, then for ``/health``). Request logging is
off; rejected tokens and errors are logged on standard error.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import DEPARTMENTS, FAULTS, create_app

DEFAULT_PORTS = {"wsd": 8201, "ird": 8202, "cr": 8203}
SERVERS = ("granian", "werkzeug")
#: Granian's blocking threads (requests served at once): the platform's TUNGBAN_WEB_THREADS;
#: a --fault slow provider gets more, as its requests sleep (Werkzeug's server had a thread
#: per connection: gateway calls that timed out must not hold back the next ones or /health).
THREADS, SLOW_THREADS = 8, 64
#: Seconds granian gives the running requests when stopped (SIGTERM).
KILL_TIMEOUT = 2


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):  # no access log: benchmarks make thousands of requests
        pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.providers",
        description="A demo data provider (WSD, IRD or CR) for tungban's Consented Data Exchange Gateway.",
    )
    parser.add_argument("--department", required=True, choices=DEPARTMENTS, help="the department to play")
    parser.add_argument("--port", type=int, help="TCP port (default: wsd 8201, ird 8202, cr 8203; 0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--issuer",
        default="http://localhost:8000",
        help="the gateway's issuer URL; its JWKS is {issuer}/oidc/jwks (default http://localhost:8000)",
    )
    parser.add_argument(
        "--fault", choices=FAULTS, help="misbehave: answer slowly, with schema-invalid data, or with 500"
    )
    parser.add_argument("--delay", type=float, default=None, help="seconds to sleep with --fault slow (default 10)")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=os.environ.get("CDEG_PROVIDER_SERVER") or SERVERS[0],
        help="HTTP server: granian (default; env CDEG_PROVIDER_SERVER) or werkzeug's threaded development server",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("CDEG_PROVIDER_THREADS") or 0) or None,
        help="requests served at once under granian (its blocking threads; default 8, as the platform's, and 64 "
        "with --fault slow, whose requests sleep; env CDEG_PROVIDER_THREADS)",
    )
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="make a deterministic record for HKIDs without a seeded one instead of 404",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=os.environ.get("CDEG_PROVIDER_DEMO", "").lower() in ("1", "true", "yes"),
        help="demo mode (tungban demo): every resident without a seeded record, demo or newly registered, gets "
        "a synthetic record made on the first request and kept, labelled synthetic demo data in the answer "
        "(env CDEG_PROVIDER_DEMO=1)",
    )
    args = parser.parse_args(argv)
    if args.delay is not None and args.fault != "slow":
        parser.error("--delay needs --fault slow")
    if args.delay is not None and args.delay < 0:
        parser.error("--delay must not be negative")
    if args.threads is None:
        args.threads = SLOW_THREADS if args.fault == "slow" else THREADS
    if args.threads < 1:
        parser.error("--threads must be 1 or more")
    if args.port is None:
        args.port = DEFAULT_PORTS[args.department]
    return args


def _reserve(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (``port`` 0: any free one) with ``SO_REUSEPORT`` and
    never listening: it holds the port for granian's worker, which binds it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _announce(args, port: int, delay: float, products) -> None:
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"cdeg-provider {args.department} listening on http://{host}:{port}", flush=True)
    extras = [f"fault={args.fault}" + (f" delay={delay:g}s" if args.fault == "slow" else "")] if args.fault else []
    if args.synthetic:
        extras.append("synthetic")
    if args.demo:
        extras.append("demo: synthetic records for residents without one")
    extras.append(f"{args.server}" + (f", {args.threads} threads" if args.server == "granian" else ""))
    print(
        f"  issuer {args.issuer}  products {', '.join(products)}  ({', '.join(extras)})",
        file=sys.stderr,
        flush=True,
    )


def _worker_app(target: str):
    """The application, built in granian's worker process, which is made to die with the
    provider's main process (Linux ``PR_SET_PDEATHSIG``): a provider killed (``SIGKILL``,
    no time to stop its worker) drops its connections at once, as one process would."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if str(os.getppid()) != os.environ.get("CDEG_PROVIDER_MAIN_PID", str(os.getppid())):
        os._exit(1)  # the main process died before prctl
    from .app import app_from_env

    return app_from_env()


def _serve_granian(args, delay: float) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    from .data import PRODUCTS

    # The worker builds the app with app_from_env(): the options go through the environment.
    os.environ.update(
        {
            "CDEG_PROVIDER_DEPARTMENT": args.department,
            "CDEG_PROVIDER_ISSUER": args.issuer,
            "CDEG_PROVIDER_FAULT": args.fault or "",
            "CDEG_PROVIDER_DELAY": str(delay),
            "CDEG_PROVIDER_SYNTHETIC": "1" if args.synthetic else "",
            "CDEG_PROVIDER_DEMO": "1" if args.demo else "",
            "CDEG_PROVIDER_MAIN_PID": str(os.getpid()),
        }
    )
    reserved = _reserve(args.host, args.port)
    port = reserved.getsockname()[1]
    server = Granian(
        "examples.providers.app:app_from_env",
        factory=True,
        address=args.host,
        port=port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=args.threads,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(keep_alive=True),
        websockets=False,
        log_level=LogLevels.warning,
        log_access=False,
        workers_kill_timeout=KILL_TIMEOUT,
        # A worker that dies ends the provider (its main process exits): no respawn from a
        # thread of granian's, which PR_SET_PDEATHSIG would take for the parent.
        respawn_failed_workers=False,
    )
    _announce(args, port, delay, PRODUCTS[args.department])
    try:
        server.serve(target_loader=_worker_app)  # SIGTERM and SIGINT: granian stops its worker and returns
    finally:
        reserved.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    delay = (10.0 if args.delay is None else args.delay) if args.fault == "slow" else 0.0
    if args.server == "granian":
        _serve_granian(args, delay)
        return
    app = create_app(
        args.department, args.issuer, fault=args.fault, delay=delay, synthetic=args.synthetic, demo=args.demo
    )
    server = make_server(args.host, args.port, app, threaded=True, request_handler=_QuietHandler)

    def stop(signum, frame):
        raise KeyboardInterrupt  # ends serve_forever, which closes the socket

    signal.signal(signal.SIGTERM, stop)
    _announce(args, server.port, delay, app.config["CDEG_PROVIDER"]["products"])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
