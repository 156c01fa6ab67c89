#!/usr/bin/env python
"""CPU time of the front itself per lane request, in-process (issue 15, fourth round: the
front's signals): ``tungban.core.front.Front`` answering a registered lane whose handler
returns a constant :class:`~tungban.core.front.Reply`, so what is timed is the front's own
work (environ checks, Django's request signals or their direct dispatch, the headers,
``Content-Length``), with this process's database connection open (as a worker's is).

Two modes alternate in rounds in one process (the machine's load hits them alike): ``direct``
(the front as it runs: Django's stock receivers done by ``front._Housekeeping``) and ``send``
(the same front forced to ``Signal.send``, as before the fourth round and as whenever another
receiver is connected). Prints ``time.process_time()`` µs per request, median and minimum of
the rounds::

    PYTHONPATH=src .venv/bin/python bench/front_cpu.py [--requests 20000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per mode and round (default 20000)")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds (default 6)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.db import connection

    from tungban.core import front
    from tungban.testing import wsgi

    connection.ensure_connection()  # close_old_connections has a connection to look at
    reply = front.Reply(200, b'{"a":1}', (("Cache-Control", "no-store"), ("Pragma", "no-cache")))
    front.register_lane("/bench/front-cpu", lambda call: reply)

    def django_app(environ, start_response):
        raise AssertionError("the lane answers every request")

    app = front.Front(django_app)
    base = wsgi.environ("/bench/front-cpu", "POST", body=b"a=1", content_type="application/x-www-form-urlencoded")

    def start_response(status, headers, exc_info=None):
        pass

    def environs(n):
        return [{**base, "wsgi.input": io.BytesIO(b"a=1")} for _ in range(n)]

    for env in environs(2000):
        app(env, start_response)
    stock = front._Housekeeping.stock
    results = {"direct": [], "send": []}
    try:
        for _round in range(args.rounds):
            for mode in results:
                front._Housekeeping.stock = stock if mode == "direct" else (lambda self: "")
                batch = environs(args.requests)
                started = time.process_time()
                for env in batch:
                    app(env, start_response)
                results[mode].append((time.process_time() - started) / args.requests * 1e6)
    finally:
        front._Housekeeping.stock = stock
    print(f"{'mode':<8} {'median µs':>10} {'min µs':>8}")
    for mode, values in results.items():
        values.sort()
        print(f"{mode:<8} {values[len(values) // 2]:>10.2f} {values[0]:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
