"""``python -m examples.providers``: run one demo CDEG data provider (run from the repository root).

::

    python -m examples.providers --department wsd --port 8201 --issuer http://localhost:8000 \\
        [--host 127.0.0.1] [--fault slow|bad-schema|error] [--delay SECONDS] [--synthetic]

Serves the Flask app of :mod:`examples.providers.app` with Werkzeug's threaded server
(``werkzeug.serving.make_server(..., threaded=True)``, the server ``run_simple`` uses,
without its reloader and banner). ``--port 0`` binds a free port; the first line on
standard output is always ``cdeg-provider <department> listening on http://HOST:PORT``
(what :mod:`examples.providers.launch` waits for). Request logging is off; rejected tokens
and errors are logged on standard error. SIGTERM stops the server.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import DEPARTMENTS, FAULTS, create_app

DEFAULT_PORTS = {"wsd": 8201, "ird": 8202, "cr": 8203}


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
        "--synthetic",
        action="store_true",
        help="make a deterministic record for HKIDs without a seeded one instead of 404",
    )
    args = parser.parse_args(argv)
    if args.delay is not None and args.fault != "slow":
        parser.error("--delay needs --fault slow")
    if args.delay is not None and args.delay < 0:
        parser.error("--delay must not be negative")
    if args.port is None:
        args.port = DEFAULT_PORTS[args.department]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    delay = (10.0 if args.delay is None else args.delay) if args.fault == "slow" else 0.0
    app = create_app(args.department, args.issuer, fault=args.fault, delay=delay, synthetic=args.synthetic)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=_QuietHandler)

    def stop(signum, frame):
        raise KeyboardInterrupt  # ends serve_forever, which closes the socket

    signal.signal(signal.SIGTERM, stop)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"cdeg-provider {args.department} listening on http://{host}:{server.port}", flush=True)
    extras = [f"fault={args.fault}" + (f" delay={delay:g}s" if args.fault == "slow" else "")] if args.fault else []
    if args.synthetic:
        extras.append("synthetic")
    print(
        f"  issuer {args.issuer}  products {', '.join(app.config['CDEG_PROVIDER']['products'])}"
        + (f"  ({', '.join(extras)})" if extras else ""),
        file=sys.stderr,
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
