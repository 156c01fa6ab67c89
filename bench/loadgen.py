"""The exchange benchmark's load generator (``bench/exchange.py``): threads that call
``DataUser.fetch`` (``examples/data_user.py``) in a loop, in this process or spread over
several generator processes, so that the generator is neither the bottleneck nor a source
of latency (16 threads in one Python process queue for its GIL: a response that has
arrived waits for the interpreter, and that wait is counted in the latency).

Each thread has its own :class:`~examples.data_user.DataUser` (its own ``requests``
session: one keep-alive connection per thread) holding the one ``cdeg`` access token
fetched before timing, as a data user reuses its token until it expires; each exchange
has its own fresh ``request_id`` (never reused: it is the call's idempotency key). The
latency of an exchange is measured around ``DataUser.fetch`` (HTTP and JSON included).

A generator process is ``python bench/loadgen.py``: it says ``ready`` once its imports are
done, then reads a JSON job on standard input (:func:`run_threads`' argument) and writes
its result as JSON on standard output. Only the
standard library and ``examples.data_user`` are imported: no Django, no platform code.
The processes agree on the window through ``time.monotonic()`` (``CLOCK_MONOTONIC``, one
clock for every process of a Linux machine).
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _user(job: dict):
    from requests.adapters import HTTPAdapter

    from examples.data_user import DataUser

    user = DataUser(job["issuer"], job["client_id"], job["private_jwk"])
    user.http.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1))
    user.prime_token(job["token"], job["token_expires"])
    return user


def run_threads(job: dict) -> dict:
    """``job["threads"]`` threads, each with its own data user, call ``fetch`` over
    ``job["consents"]`` (``[consent_id, product]`` pairs; thread ``i`` of process ``p`` of
    ``P`` starts at ``(p + i * P) mod n`` and goes round, so the processes and threads are
    spread over the consents) from ``job["start"]`` (``time.monotonic()``) until
    ``job["window_end"]``; exchanges started from ``job["window_start"]`` count.

    :returns: ``{"latencies": [s, ...] of delivered exchanges in the window, "errors":
        {code: n} in the window, "delivered_all": n delivered in all, "cpu_s": this process's
        CPU seconds in the window (``time.process_time()``, all its threads)}``.
    """
    from examples.data_user import DataUserError

    consents = job["consents"]
    n, processes, index = len(consents), job.get("processes", 1), job.get("index", 0)
    start, window_start, window_end = job["start"], job["window_start"], job["window_end"]
    users = [_user(job) for _ in range(job["threads"])]
    cpu = {}

    def worker(i: int):
        user, position = users[i], index + i * processes
        lat, errors, delivered_all = [], collections.Counter(), 0
        while time.monotonic() < start:
            time.sleep(0.002)
        while True:
            t0 = time.monotonic()
            if t0 >= window_end:
                break
            consent_id, product = consents[position % n]
            position += processes * job["threads"]
            try:
                user.fetch(consent_id, product)
                ok, code = True, None
            except DataUserError as exc:
                ok, code = False, f"{exc.code} ({exc.status})"
            except Exception as exc:  # noqa: BLE001 - counted, shown in the table
                ok, code = False, type(exc).__name__
            elapsed = time.monotonic() - t0
            delivered_all += ok
            if t0 >= window_start:
                if ok:
                    lat.append(elapsed)
                else:
                    errors[code] += 1
        return lat, errors, delivered_all

    def clock():
        time.sleep(max(0.0, window_start - time.monotonic()))
        cpu["start"] = time.process_time()
        time.sleep(max(0.0, window_end - time.monotonic()))
        cpu["end"] = time.process_time()

    results: list = [None] * job["threads"]

    def run(i):
        results[i] = worker(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(job["threads"])]
    threads.append(threading.Thread(target=clock))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = collections.Counter()
    for _lat, e, _d in results:
        errors.update(e)
    return {
        "latencies": [x for lat, _e, _d in results for x in lat],
        "errors": dict(errors),
        "delivered_all": sum(d for _l, _e, d in results),
        "cpu_s": cpu.get("end", 0.0) - cpu.get("start", 0.0),
    }


def start_processes(processes: int) -> list[subprocess.Popen]:
    """``processes`` generator processes, each ready (its imports done) when this returns;
    give them their job with :func:`send_jobs`."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for _ in range(processes)
    ]
    for proc in procs:
        if proc.stdout.readline().strip() != b"ready":
            proc.kill()
            raise RuntimeError(f"load generator process {proc.pid} did not start (status {proc.wait()})")
    return procs


def send_jobs(procs: list[subprocess.Popen], job: dict, concurrency: int) -> None:
    """Give each process ``job`` with its share of ``concurrency`` threads (as even as can be)."""
    for p, proc in enumerate(procs):
        threads = concurrency // len(procs) + (p < concurrency % len(procs))
        proc.stdin.write(json.dumps({**job, "index": p, "processes": len(procs), "threads": threads}).encode())
        proc.stdin.close()


def collect(procs: list[subprocess.Popen], timeout: float) -> list[dict]:
    """The generator processes' results (:func:`run_threads`), once they have ended.

    :raises RuntimeError: a process failed or gave no result."""
    out = []
    for proc in procs:
        text = proc.stdout.read()
        proc.wait(timeout=timeout)
        if proc.returncode != 0 or not text:
            raise RuntimeError(f"load generator process {proc.pid} exited with status {proc.returncode}")
        out.append(json.loads(text))
    return out


if __name__ == "__main__":
    import examples.data_user  # noqa: F401 - the imports before "ready", not in the timed window

    print("ready", flush=True)
    json.dump(run_threads(json.load(sys.stdin)), sys.stdout)
