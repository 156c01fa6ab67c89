#!/usr/bin/env python
"""Benchmark of e-licence issuance and verification (issue #5, ``tungban.credentials``).

Run from the checkout::

    .venv/bin/python bench/credentials.py             # 10,000-row bulk file, 2,000 verifications (about 1-2 min)
    .venv/bin/python bench/credentials.py --quick     # 1,000-row bulk file, 300 verifications
    .venv/bin/python bench/credentials.py --profile   # plus a cProfile of bulk issuance and of verification
    .venv/bin/python bench/credentials.py --database-url postgres://user:pw@127.0.0.1/empty_db

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``,
SQLite database unless ``--database-url``, secret key; nothing under ``var/`` is touched),
migrates it, registers the bundled issuers and credential types, and seeds residents aged
65 or over directly with ``bulk_create`` (valid HKID numbers; every second one with a bound
device, so half the credentials carry ``cnf`` and are presented with a KB-JWT). Measured
through the service code, for the Senior Citizen Card (``senior-citizen-card``, SWD):

a. bulk issuance: ``services.issue_bulk`` with a CSV of N rows (``hkid,card_number``; 10,000
   by default, 1,000 with ``--quick``): parsing, per-row checks (HKID, holder, JSON Schema),
   an SD-JWT VC signed per row, status-list positions, one transparency-log append for the
   lot and the rows, all in one transaction. Credentials per second.
b. single issuance: ``services.issue`` per credential (its own transaction and log append),
   as an officer's form or the issuance API does. Per second, p50/p99.
c. verification online: ``verify.verify_presentation`` with a new ``DatabaseTrust`` per call
   (as ``POST /api/v1/credentials/verify`` does) of presentations disclosing every claim with a
   KB-JWT (nonce, ``aud`` = 認證易): issuer signature, disclosures, key binding, status list
   token, transparency-log inclusion proof. Per second, p50/p99.
d. verification offline: the same presentations with one ``BundleTrust`` over
   ``services.trust_bundle()`` (issuer keys, status lists, signed tree head; no inclusion
   proofs), as the offline 認證易 does.

e. offline side by side (issue 15, acceptance 3): the same presentations verified by
   tungban's offline verifier (d) and by the OpenWallet Foundation TypeScript verifier
   (``@sd-jwt/sd-jwt-vc`` 0.19 with ``@sd-jwt/crypto-nodejs`` and ``@sd-jwt/jwt-status-list``,
   the versions the independent-verifier test pins; ``bench/tsverify/bench.mjs``, installed
   with ``npm ci`` into ``$TMPDIR/tungban-bench/tsverify-<hash>``), one Node process run once
   over all of them with only its verification loop timed; both after an untimed warm-up
   over the first 50. What each side checks is printed under the table; verifications per
   second of both and the ratio tungban/TypeScript. ``--no-typescript`` leaves it out.
f. online through HTTP: ``POST /api/v1/credentials/verify`` as ``tungban serve`` runs it
   (granian, one process per CPU, ``--workers``) on this benchmark's database, wrk
   with 16 connections (``--http-connections``) for 15 s (5 with ``--quick``,
   ``--http-seconds``); requests per second, latency, errors and the server's CPU per
   request. The ``verify`` rate limit (60/m per address) is raised for the whole benchmark
   with ``TUNGBAN_RATELIMIT_VERIFY``. ``--no-http`` leaves it out.
g. online in-process: the same request through ``tungban.wsgi.application`` in this process:
   CPU µs (``time.process_time``) and SQL statements per request (round trips on the wire on
   PostgreSQL; ``bench/verify_cpu.py`` takes this row apart).

Every verification must come out valid (checked, counted). Results are printed as a table
and, unless ``--quick``, written to ``bench/results/credentials-<date>.json`` (``--output``
to choose; with ``--quick`` only then). ``--profile`` prints the top functions by cumulative
time and a breakdown (SD-JWT signing, the ``sd-jwt`` library, database, transparency log,
JSON Schema) and saves the cProfile data outside the checkout
(``$TMPDIR/tungban-bench/credentials-{issuance,verification}-<date>.prof``).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

try:
    from machine import (  # bench/machine.py (this directory is on sys.path)
        cpu_model,
        package_versions,
        scratch_dir,
        write_results,
    )
    from machine import print_table as aligned_table
except ImportError:  # imported as bench.credentials (the smoke test)
    from bench.machine import cpu_model, package_versions, scratch_dir, write_results
    from bench.machine import print_table as aligned_table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

TYPE_ID = "senior-citizen-card"
FULL = {"bulk": 10_000, "single": 300, "verify": 2_000, "profile_bulk": 2_000, "profile_verify": 500}
QUICK = {"bulk": 1_000, "single": 50, "verify": 300, "profile_bulk": 1_000, "profile_verify": 200}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="1,000-row bulk file, 50 single issuances, 300 verifications; no JSON unless --output",
    )
    p.add_argument("--bulk", type=int, help="rows in the bulk CSV (default 10,000; 1,000 with --quick)")
    p.add_argument("--single", type=int, help="credentials issued one at a time (default 300; 50 with --quick)")
    p.add_argument(
        "--verify", type=int, help="presentations verified with each trust source (default 2,000; 300 with --quick)"
    )
    p.add_argument(
        "--database-url",
        help="use this database instead of a temporary SQLite file; it must be empty (it is migrated and filled)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile bulk issuance and verification with cProfile and print where the time goes",
    )
    p.add_argument(
        "--output",
        type=Path,
        help="JSON results file (default bench/results/credentials-<date>.json; none with --quick)",
    )
    p.add_argument(
        "--no-typescript", action="store_true", help="leave out row (e), the TypeScript verifier side by side"
    )
    p.add_argument("--no-http", action="store_true", help="leave out row (f), online verification through HTTP")
    p.add_argument("--http-connections", type=int, default=16, help="wrk connections for row (f) (default 16)")
    p.add_argument("--http-seconds", type=float, help="seconds of load for row (f) (default 15; 5 with --quick)")
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="server processes for row (f) (default: one per CPU)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (printed at the end)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("bulk", "single", "verify"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.http_seconds is None:
        args.http_seconds = 5.0 if args.quick else 15.0
    args.profile_bulk = min(preset["profile_bulk"], args.bulk)
    args.profile_verify = min(preset["profile_verify"], args.verify)
    return args


def isolate(tmp: Path, database_url: str | None) -> None:
    """Point the platform at ``tmp`` (and its own SQLite file) before Django reads its settings."""
    os.environ.update(
        {
            "TUNGBAN_VAR_DIR": str(tmp),
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
            "TUNGBAN_SECRET_KEY": secrets.token_urlsafe(50),
            "TUNGBAN_ISSUER": "http://localhost:8000",
            "TUNGBAN_DEBUG": "0",
            "TUNGBAN_KEYSTORE": "software",  # credentials are signed with issuer keys in the database
            "TUNGBAN_LOG_LEVEL": os.environ.get("TUNGBAN_LOG_LEVEL", "WARNING"),
            "DJANGO_SETTINGS_MODULE": "tungban.settings",
            # 認證易's API is rate limited per client address (60/m); rows (f) and (g) send
            # thousands of requests from one address.
            "TUNGBAN_RATELIMIT_VERIFY": "100000000/m",
        }
    )
    for name in ("SOFTHSM2_CONF", "TUNGBAN_PKCS11_PIN"):
        os.environ.pop(name, None)
    for path in (ROOT, ROOT / "src"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


# --- helpers (after django.setup()) ------------------------------------------------------------


@dataclass
class Holder:
    resident: object
    key: object | None  # the device's private key (cryptography), None without a device


def prepare_platform() -> None:
    """What ``tungban setup`` does that credentials need: the platform key (signed tree
    heads) and the bundled issuers and credential types."""
    from tungban.credentials import catalogue
    from tungban.keys import services as keys
    from tungban.keys.models import SigningKey

    if not SigningKey.objects.filter(retired_at__isnull=True).exists():
        keys.create_key()
    catalogue.register_bundled()


def hkids(prefix: str, start: int, count: int) -> list[str]:
    """``count`` valid HKID numbers ``<prefix><6 digits><check digit>`` from ``start``."""
    from tungban.identity.hkid import check_digit

    if start + count > 10**6:
        raise ValueError("at most a million HKID numbers per prefix")
    return [f"{prefix}{i:06d}{check_digit(prefix, f'{i:06d}')}" for i in range(start, start + count)]


def seed_holders(count: int, *, prefix: str = "ZB", start: int = 0, device_every: int = 2) -> list[Holder]:
    """``count`` residents aged 65 or over, created with ``bulk_create`` (not through the
    counter registration, which is not what is measured); every ``device_every``-th one gets a
    bound device (a fresh P-256 key) so its credential is bound with ``cnf``."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.utils import timezone
    from joserfc.jwk import ECKey

    from tungban.identity.models import Resident
    from tungban.wallet.models import Device

    now = timezone.now()
    numbers = hkids(prefix, start, count)
    rows = [
        Resident(
            hkid=number,
            family_name_en="CHAN",
            given_name_en=f"Bench {i}",
            name_zh="陳大文",
            date_of_birth=dt.date(1940, 1, 1) + dt.timedelta(days=(start + i) % 7000),  # born 1940-1959
            gender="female" if i % 2 else "male",
            proofing_method="counter_in_person",
            proofed_at=now,
        )
        for i, number in enumerate(numbers)
    ]
    Resident.objects.bulk_create(rows, batch_size=2000)
    by_hkid = {r.hkid: r for r in Resident.objects.by_hkids(numbers)}  # HKID numbers are encrypted: by keyed hash
    holders, devices = [], []
    for i, number in enumerate(numbers):
        resident = by_hkid[number]
        key = None
        if device_every and i % device_every == 0:
            key = ec.generate_private_key(ec.SECP256R1())
            public = ECKey.import_key(key.public_key())
            devices.append(
                Device(
                    resident=resident,
                    platform="cli",
                    name="bench",
                    public_jwk=public.as_dict(private=False),
                    jwk_thumbprint=public.thumbprint(),
                )
            )
        holders.append(Holder(resident, key))
    Device.objects.bulk_create(devices, batch_size=2000)
    return holders


def bulk_csv(holders: list[Holder], first_card: int = 0) -> str:
    lines = ["hkid,card_number"]
    lines += [f"{h.resident.hkid},SC{(first_card + i) % 10**8:08d}" for i, h in enumerate(holders)]
    return "\n".join(lines) + "\n"


def stats_row(
    name: str,
    path: str,
    latencies: list[float] | None = None,
    *,
    count: int | None = None,
    seconds: float | None = None,
) -> dict:
    if latencies is not None:
        count, seconds = len(latencies), sum(latencies)
    r = {
        "name": name,
        "path": path,
        "count": count,
        "seconds": round(seconds, 4),
        "per_second": round(count / seconds, 1) if seconds else None,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
        "mean_ms": round(seconds / count * 1000, 3) if count else None,
    }
    if latencies:
        ordered = sorted(latencies)
        r["p50_ms"] = round(statistics.median(ordered) * 1000, 3)
        r["p99_ms"] = round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 3)
        r["max_ms"] = round(ordered[-1] * 1000, 3)
    return r


def measure_bulk(ctype, holders: list[Holder], *, first_card: int = 0) -> tuple[dict, object]:
    """(a) ``services.issue_bulk`` of one CSV row per holder; returns the row and the batch.
    The parse + per-row checks alone (``read_csv`` + ``validate_rows``, which write nothing)
    are timed separately to show their share."""
    from tungban.credentials import services

    data = bulk_csv(holders, first_card)
    t0 = time.perf_counter()
    rows, errors = services.read_csv(ctype, data)
    prepared, row_errors = services.validate_rows(ctype, rows)
    checks = time.perf_counter() - t0
    assert not errors and not row_errors and len(prepared) == len(holders), (errors, row_errors)
    t0 = time.perf_counter()
    batch = services.issue_bulk(ctype, data, issued_by="bench:bulk", filename="bench.csv")
    seconds = time.perf_counter() - t0
    assert batch.rows_issued == len(holders) and batch.rows_rejected == 0
    r = stats_row(
        f"(a) bulk issuance, {len(holders):,}-row CSV",
        "services.issue_bulk (parse, per-row checks, status slots reserved, each SD-JWT VC signed, then one transaction: log append and bulk insert)",
        count=len(holders),
        seconds=seconds,
    )
    r["checks_seconds"] = round(checks, 4)
    r["bytes"] = len(data.encode())
    return r, batch


def measure_single(ctype, holders: list[Holder], *, first_card: int = 0) -> tuple[dict, list]:
    """(b) ``services.issue`` once per holder."""
    from tungban.credentials import services

    latencies, credentials = [], []
    for i, h in enumerate(holders):
        t0 = time.perf_counter()
        credentials.append(
            services.issue(
                ctype, h.resident, {"card_number": f"SC{(first_card + i) % 10**8:08d}"}, issued_by="bench:single"
            )
        )
        latencies.append(time.perf_counter() - t0)
    return stats_row(
        "(b) single issuance",
        "services.issue (claims check, sign, status slot, log append, insert; one transaction each)",
        latencies,
    ), credentials


def presentations(credentials: list, keys: dict, count: int) -> list[tuple[str, str]]:
    """``(presentation, nonce)`` for ``count`` bound credentials (cycled): every claim
    disclosed, a KB-JWT for 認證易 signed with the holder's device key (``sd-jwt`` library,
    as the app does). Untimed."""
    from jwcrypto.jwk import JWK
    from sd_jwt.holder import SDJWTHolder

    from tungban.credentials import services

    bound = [c for c in credentials if c.holder_id in keys]
    if not bound:
        raise ValueError("no credential is bound to a device key")
    aud, jwks, out = services.verifier_audience(), {}, []
    for i in range(count):
        credential = bound[i % len(bound)]
        jwk = jwks.get(credential.holder_id) or jwks.setdefault(
            credential.holder_id, JWK.from_pyca(keys[credential.holder_id])
        )
        holder = SDJWTHolder(credential.sd_jwt)
        nonce = secrets.token_urlsafe(12)
        holder.create_presentation(
            {name: True for name in services.issued_claims_from(credential.sd_jwt)}, nonce, aud, jwk, "ES256"
        )
        out.append((holder.sd_jwt_presentation, nonce))
    return out


def _cold() -> None:
    """Forget the issuers' signatures this process has checked (kept per token and key,
    issue 15, thirteenth round), so that a row's presentations — the same ones in (c), (d) and
    (e) — are each its credential's first verification, as in the rounds before. Row (f)
    cycles its bodies (each presentation about seven times in 15 s) and so measures mostly
    credentials presented again; (g) runs after the others."""
    from tungban.credentials.services.sdjwt_check import _issuer_signed_payload

    _issuer_signed_payload.cache_clear()


def measure_verify(name: str, path: str, items: list[tuple[str, str]], trust_factory) -> dict:
    """(c)/(d) ``verify_presentation`` of each ``(presentation, nonce)``; all must be valid
    with the holder binding verified. Each credential's first verification in this row: the
    issuers' signatures kept from earlier rows are forgotten first (:func:`_cold`)."""
    from tungban.credentials.verify import verify_presentation

    _cold()
    latencies, invalid = [], []
    for presentation, nonce in items:
        t0 = time.perf_counter()
        result = verify_presentation(presentation, trust_factory(), expected_nonce=nonce)
        latencies.append(time.perf_counter() - t0)
        if not (result.valid and result.holder_binding == "verified" and result.status == "valid"):
            invalid.append(result.codes() or [result.holder_binding, result.status])
    r = stats_row(name, path, latencies)
    r["valid"] = len(items) - len(invalid)
    r["invalid_examples"] = invalid[:5]
    return r


# --- side by side with the TypeScript verifier; online through HTTP and in-process -----------

TS_DIR = Path(__file__).resolve().parent / "tsverify"
WRK_DIR = Path(__file__).resolve().parent / "wrk"


def ts_install() -> Path:
    """``bench/tsverify/bench.mjs`` in a scratch directory (``$TMPDIR/tungban-bench/tsverify-<hash>``,
    keyed by package.json, the lockfile and Node's version) where the pinned OpenWallet
    Foundation packages are installed with ``npm ci --ignore-scripts``; reused while those
    are the same. :raises RuntimeError: without Node.js 20+ and npm, or when npm fails."""
    import fcntl
    import hashlib
    import shutil
    import subprocess

    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise RuntimeError("the TypeScript verifier needs Node.js >= 20 and npm on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    files = ("package.json", "package-lock.json")
    key = hashlib.sha256(b"".join((TS_DIR / f).read_bytes() for f in files) + version.encode()).hexdigest()[:16]
    where = Path(tempfile.gettempdir()) / "tungban-bench" / f"tsverify-{key}"
    where.mkdir(parents=True, exist_ok=True)
    with open(where / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (where / ".installed").exists() or not (where / "node_modules" / "@sd-jwt" / "sd-jwt-vc").is_dir():
            for f in files:
                shutil.copyfile(TS_DIR / f, where / f)
            print(f"TypeScript verifier: npm ci in {where}", flush=True)
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                cwd=where,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"npm ci failed in {where} ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
            (where / ".installed").write_text(version)
    shutil.copyfile(TS_DIR / "bench.mjs", where / "bench.mjs")
    return where / "bench.mjs"


def measure_side_by_side(items: list[tuple[str, str]], bundle: dict, *, warmup: int = 50) -> list[dict]:
    """(e) the same presentations verified offline by tungban (``verify_presentation`` with
    one ``BundleTrust``) and by the OpenWallet Foundation TypeScript verifier
    (``bench/tsverify/bench.mjs``: one Node process, only its verification loop timed).
    Both sides get an untimed warm-up pass over the first ``warmup`` items. Returns three
    rows: tungban (with the ratios), the TypeScript library as configured, and the TypeScript
    library with each status list decoded once (it decodes the whole list every time)."""
    import subprocess

    from tungban.credentials import services
    from tungban.credentials.verify import BundleTrust, verify_presentation

    trust = BundleTrust(bundle)
    (iss,) = {json.loads(_b64d(p.split(".")[1]))["iss"] for p, _n in items[:1]}
    job = {
        "items": items,
        "issuer_jwks": bundle["issuers"][iss]["jwks"],
        "issuer": iss,
        "aud": services.verifier_audience(),
        "status_list_tokens": bundle["status_lists"],
        "warmup": warmup,
    }
    script = ts_install()
    proc = subprocess.run(
        ["node", str(script)], input=json.dumps(job), capture_output=True, text=True, timeout=600, cwd=script.parent
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"bench.mjs failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    ts_rows = []
    for key, label, how in (
        ("library", "(e) offline, TypeScript (@sd-jwt/sd-jwt-vc)", "SDJwtVcInstance.verify as configured"),
        (
            "cached_status",
            "(e) offline, TypeScript, status list cached",
            "the same with each status list token verified and decoded once (as tungban caches it)",
        ),
    ):
        ts = out[key]
        row = stats_row(
            label,
            f"{out['checks']}; {how}; one Node process, the loop timed inside it; libraries {out['versions']}",
            count=ts["count"],
            seconds=ts["seconds"],
        )
        row.update(
            valid=ts["valid"],
            invalid_examples=ts["invalid_examples"],
            cpu_seconds=round(ts["cpu_seconds"], 4),
            per_cpu_second=round(ts["count"] / ts["cpu_seconds"], 1) if ts["cpu_seconds"] else None,
        )
        ts_rows.append(row)

    _cold()  # as the TypeScript side: only the warm-up's credentials were verified before
    for presentation, nonce in items[:warmup]:
        verify_presentation(presentation, trust, expected_nonce=nonce)
    invalid = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    for presentation, nonce in items:
        result = verify_presentation(presentation, trust, expected_nonce=nonce)
        if not (result.valid and result.holder_binding == "verified" and result.status == "valid"):
            invalid.append(result.codes() or [result.holder_binding, result.status])
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    py_row = stats_row(
        "(e) offline, tungban (BundleTrust)",
        "issuer signature (kid, alg ES256, typ), disclosure digests (all referenced, none repeated), nbf/exp, "
        "KB-JWT (signature with cnf.jwk, typ, aud, nonce, sd_hash, iat fresh), status list token (signature, "
        "typ, sub, exp, entry), iss known, vct known, the bundle's signed tree head; one BundleTrust, in this process",
        count=len(items),
        seconds=seconds,
    )
    py_row.update(
        valid=len(items) - len(invalid),
        invalid_examples=invalid[:5],
        cpu_seconds=round(cpu, 4),
        per_cpu_second=round(len(items) / cpu, 1) if cpu else None,
    )
    # Ratios tungban/TypeScript: of verifications per second (wall clock) and per CPU second
    # (what does not depend on the machine's load while each side ran).
    for name, ts_row in (("typescript", ts_rows[0]), ("typescript_cached_status", ts_rows[1])):
        py_row[f"ratio_to_{name}"] = (
            round(py_row["per_second"] / ts_row["per_second"], 2) if ts_row["per_second"] else None
        )
        py_row[f"cpu_ratio_to_{name}"] = (
            round(py_row["per_cpu_second"] / ts_row["per_cpu_second"], 2)
            if ts_row["per_cpu_second"] and py_row["per_cpu_second"]
            else None
        )
    return [py_row, *ts_rows]


def _b64d(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_bodies(items: list[tuple[str, str]]) -> list[bytes]:
    """The JSON bodies of ``POST /api/v1/credentials/verify`` for ``items`` (with their nonce)."""
    return [json.dumps({"presentation": p, "nonce": n}).encode() for p, n in items]


def measure_in_process(items: list[tuple[str, str]]) -> dict:
    """(g) ``POST /api/v1/credentials/verify`` through ``tungban.wsgi.application`` in this
    process (the whole middleware stack and the API, no HTTP server): CPU µs per request
    (``time.process_time``) and SQL statements per request (on PostgreSQL round trips on the
    wire, :mod:`tungban.testing.pgwire`). Every answer must be 200 with
    ``valid`` true."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tungban.wsgi import application

    def call(body: bytes) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/credentials/verify",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "localhost:8000",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        status = []
        out = b"".join(application(environ, lambda s, h, *a: status.append(s)))
        return status[0], out

    bodies = verify_bodies(items)
    for body in bodies[:20]:
        call(body)  # warm-up
    latencies, invalid = [], []
    cpu0 = time.process_time()
    for body in bodies:
        t0 = time.perf_counter()
        status, out = call(body)
        latencies.append(time.perf_counter() - t0)
        if not status.startswith("200") or not json.loads(out).get("valid"):
            invalid.append(f"{status} {out[:200]!r}")
    cpu = time.process_time() - cpu0
    if connection.vendor == "postgresql":
        # on the wire (tungban.testing.pgwire): the verification's statement runs on psycopg's
        # own connection, past Django's execute wrappers
        from tungban.testing.pgwire import relayed

        with relayed(connection) as wire:
            call(bodies[0])  # opens the connection through the relay
            wire.clear()
            call(bodies[1 % len(bodies)])
            q = list(wire.statements)
    else:
        with CaptureQueriesContext(connection) as captured:
            call(bodies[0])
        q = captured.captured_queries
    r = stats_row(
        "(g) online, in-process WSGI",
        "POST /api/v1/credentials/verify through tungban.wsgi.application in this process (middleware, API, DatabaseTrust)",
        latencies,
    )
    r.update(
        valid=len(bodies) - len(invalid),
        invalid_examples=invalid[:5],
        cpu_us_per_request=round(cpu / len(bodies) * 1e6),
        queries_per_request=len(q),
    )
    return r


def measure_http(items: list[tuple[str, str]], tmp: Path, *, connections: int, seconds: float, workers: int) -> dict:
    """(f) ``POST /api/v1/credentials/verify`` through HTTP: the platform as
    ``tungban serve`` runs it (``workers`` processes) on this benchmark's database, wrk with
    ``connections`` connections for ``seconds``, the ``verify`` rate limit raised through
    ``TUNGBAN_RATELIMIT_VERIFY``. Requests per second, latency percentiles, errors and the
    server's CPU per request; a sample of answers is checked to be valid first."""
    import subprocess
    import urllib.request

    from tungban.testing.servers import listening_socket, start_server, wait_until_up

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import tree_cpu_seconds

    sock = listening_socket()  # never listening here: granian's workers bind the port (SO_REUSEPORT)
    port = sock.getsockname()[1]
    # The workers import this checkout's code (the shared virtualenv's editable install may point elsewhere).
    pythonpath = os.pathsep.join(p for p in (str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "TUNGBAN_ALLOWED_HOSTS": "localhost,127.0.0.1", "PYTHONPATH": pythonpath}
    proc = start_server(sock, env, workers, tmp, False)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", proc, tmp / "server.log")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        bodies = verify_bodies(items)
        invalid = []
        for body in bodies[:20]:
            req = urllib.request.Request(
                f"{base}/api/v1/credentials/verify", data=body, headers={"Content-Type": "application/json"}
            )
            with opener.open(req, timeout=30) as resp:
                answer = json.loads(resp.read())
            if not answer.get("valid"):
                invalid.append(answer.get("problems"))
        path = tmp / "verify-bodies.txt"
        path.write_bytes(b"\n".join(bodies) + b"\n")
        threads = min(connections, 2)
        cpu0 = tree_cpu_seconds(proc.pid)
        done = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s"]
            + ["-s", str(WRK_DIR / "verify.lua"), f"{base}/api/v1/credentials/verify"],
            env={**os.environ, "WRK_LUA_DIR": str(WRK_DIR), "WRK_THREADS": str(threads), "WRK_BODIES": str(path)},
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        server_cpu = tree_cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        sock.close()
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    w = json.loads(line[len("WRK_RESULT ") :])
    count, secs = w["requests"], w["duration_us"] / 1e6
    errors = sum(w["errors"].values())
    r = stats_row(
        f"(f) online, HTTP ({connections} connections)",
        f"POST /api/v1/credentials/verify as tungban serve runs it ({workers} processes), wrk -c {connections}; "
        "verify rate limit raised with TUNGBAN_RATELIMIT_VERIFY",
        count=count,
        seconds=secs,
    )
    r.update(
        p50_ms=w["p50_us"] / 1000,
        p99_ms=w["p99_us"] / 1000,
        errors=w["errors"],
        valid=count - errors if not invalid else 0,
        invalid_examples=invalid[:5],
        server_cpu_us_per_request=round(server_cpu / count * 1e6) if count else None,
    )
    return r


# --- profiling ---------------------------------------------------------------------------------

# (label, file path fragment, function name): cumulative time of these, as a share of the total.
ISSUANCE_PARTS = [
    ("issue_bulk (everything)", "credentials/services/bulk.py", "issue_bulk"),
    ("  read_csv (parse)", "credentials/services/bulk.py", "read_csv"),
    ("  validate_rows (HKID, holders, claims)", "credentials/services/bulk.py", "validate_rows"),
    ("    prepare_claims (identity claims, JSON Schema)", "credentials/services/claims.py", "prepare_claims"),
    ("      jsonschema (validator per row + iter_errors)", "jsonschema/validators.py", ("iter_errors", "__init__")),
    ("  _issue_many (sign, slots, log, insert)", "credentials/services/issuance.py", "_issue_many"),
    ("    _sign: SD-JWT VC via the sd-jwt library", "credentials/services/issuance.py", "_sign"),
    ("      sd-jwt: disclosures + digests", "sd_jwt/issuer.py", "_create_sd_claims"),
    ("      sd-jwt: JWS (jwcrypto)", "sd_jwt/issuer.py", "_create_signed_jws"),
    ("        jwcrypto header registry deepcopy", "jwcrypto/common.py", "__init__"),
    ("        ECDSA P-256 sign (cryptography)", "jwcrypto/jwa.py", "sign"),
    ("    ledger.log_append_many (transparency log)", "ledger/transparency.py", "log_append_many"),
    ("      signed tree head (platform key)", "ledger/transparency.py", "_sign_head"),
    ("    bulk_create (credentials, log leaves)", "django/db/models/query.py", "bulk_create"),
    ("SQL executed by the database driver (all queries)", "django/db/backends/utils.py", ("_execute", "_executemany")),
]
VERIFY_PARTS = [
    ("verify_presentation (everything)", "credentials/verify.py", "verify_presentation"),
    ("  sd-jwt SDJWTVerifier (issuer JWS + KB-JWT)", "sd_jwt/verifier.py", "__init__"),
    ("    ECDSA P-256 verify (joserfc, cryptography)", "joserfc/_rfc7518/jws_algs.py", "verify"),
    ("  everything online in one statement (DatabaseTrust.prefetch)", "credentials/verify.py", "prefetch"),
    ("  issuer keys (DatabaseTrust.issuer)", "credentials/verify.py", "issuer"),
    ("  status list (_check_status)", "credentials/verify.py", "_check_status"),
    ("  transparency log (_check_log)", "credentials/verify.py", "_check_log"),
    ("    inclusion proof from the database", "ledger/transparency.py", "inclusion_proof"),
    ("  Django ORM: building and running queries", "django/db/models/sql/compiler.py", "execute_sql"),
    ("SQL executed by the database driver (all queries)", "django/db/backends/utils.py", ("_execute", "_executemany")),
]


def profile(label: str, fn, parts: list[tuple[str, str, str | tuple[str, ...]]], top: int = 15) -> dict:
    """cProfile one call of ``fn``; print the top ``top`` functions by cumulative time and
    the cumulative time of ``parts``; save the stats outside the checkout."""
    print(f"Profiling {label} ...", flush=True)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    fn()
    prof.disable()
    total = time.perf_counter() - t0
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    prof_dir = Path(tempfile.gettempdir()) / "tungban-bench"
    prof_dir.mkdir(exist_ok=True)
    prof_path = prof_dir / f"credentials-{label.split()[0]}-{dt.date.today().isoformat()}.prof"
    stats.dump_stats(prof_path)
    print(out.getvalue())
    breakdown = []
    for name, fragment, funcs in parts:
        funcs = (funcs,) if isinstance(funcs, str) else funcs
        hits = [
            v
            for (path, _line, f), v in stats.stats.items()
            if f in funcs and path.replace(os.sep, "/").endswith(fragment)
        ]
        cum, calls = sum(v[3] for v in hits), sum(v[1] for v in hits)
        breakdown.append(
            {"part": name, "calls": calls, "seconds": round(cum, 3), "share": round(cum / total, 3) if total else None}
        )
    width = max(len(b["part"]) for b in breakdown)
    print(f"Where the time goes ({label}, {total:.2f} s under the profiler; cumulative, so nested rows overlap):")
    for b in breakdown:
        print(f"  {b['part']:<{width}}  {b['seconds']:8.3f} s  {100 * (b['share'] or 0):5.1f} %  ({b['calls']} calls)")
    print(f"cProfile data: {prof_path} (read with: .venv/bin/python -m pstats {prof_path})\n")
    top_rows = []
    for (path, line, func), (_cc, nc, tt, ct, _callers) in sorted(stats.stats.items(), key=lambda kv: -kv[1][3])[:top]:
        top_rows.append(
            {
                "function": f"{Path(path).name}:{line}({func})",
                "calls": nc,
                "tottime": round(tt, 3),
                "cumtime": round(ct, 3),
            }
        )
    return {
        "seconds_under_profiler": round(total, 3),
        "breakdown": breakdown,
        "top_cumulative": top_rows,
        "prof_file": str(prof_path),
    }


# --- the benchmark ---------------------------------------------------------------------------


def print_table(rows: list[dict]) -> None:
    head = ("Measurement", "Count", "Seconds", "Per second", "p50 ms", "p99 ms", "Valid")
    lines = []
    for r in rows:
        lines.append(
            (
                r["name"],
                f"{r['count']:,}",
                f"{r['seconds']:.2f}",
                f"{r['per_second']:,.1f}" if r["per_second"] else "-",
                f"{r['p50_ms']:.2f}" if r["p50_ms"] is not None else f"{r['mean_ms']:.2f} (mean)",
                f"{r['p99_ms']:.2f}" if r["p99_ms"] is not None else "-",
                f"{r['valid']:,}" if "valid" in r else "",
            )
        )
    aligned_table(head, lines)
    print()
    for r in rows:
        print(f"  {r['name']}: {r['path']}")


def versions() -> dict:
    out = package_versions(("Django", "sd-jwt", "jwcrypto", "joserfc", "cryptography", "jsonschema", "psycopg"))
    return out


def run(args) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tungban.credentials import services
    from tungban.credentials.models import Credential, StatusList
    from tungban.credentials.verify import BundleTrust, DatabaseTrust, verify_presentation
    from tungban.identity.models import Resident
    from tungban.testing.migrated import migrate_database

    notes: dict = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    database = connection.vendor + (" (temporary file)" if connection.vendor == "sqlite" else "")
    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; database {database}",
        flush=True,
    )

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    if Resident.objects.exists() or Credential.objects.exists():
        raise SystemExit("The database already holds residents or credentials: give --database-url an empty database.")
    prepare_platform()
    ctype = services.get_type(TYPE_ID)
    notes["migrate_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    bulk_holders = seed_holders(args.bulk, prefix="ZB")
    single_holders = seed_holders(args.single, prefix="ZS")
    notes["seed_s"] = round(time.perf_counter() - t0, 2)
    notes["residents"] = args.bulk + args.single
    notes["devices"] = sum(1 for h in bulk_holders + single_holders if h.key)
    print(
        f"Seeded {notes['residents']:,} residents ({notes['devices']:,} with a device) in {notes['seed_s']} s",
        flush=True,
    )
    rows = []

    print(f"(a) bulk issuance of {args.bulk:,} rows ...", flush=True)
    bulk_row, batch = measure_bulk(ctype, bulk_holders)
    rows.append(bulk_row)

    print(f"(b) single issuance x{args.single} ...", flush=True)
    single_row, _single = measure_single(ctype, single_holders, first_card=10**6)
    rows.append(single_row)

    keys = {h.resident.pk: h.key for h in bulk_holders if h.key}
    issued = list(Credential.objects.filter(batch=batch).only("id", "sd_jwt", "holder_id"))
    bound = sum(1 for c in issued if c.holder_id in keys)
    notes["bulk_credentials_bound"] = bound
    t0 = time.perf_counter()
    items = presentations(issued, keys, args.verify)
    notes["presentations_s"] = round(time.perf_counter() - t0, 2)
    notes["presentation_bytes_mean"] = round(sum(len(p) for p, _ in items) / len(items))

    print(f"(c) verification with DatabaseTrust x{args.verify:,} ...", flush=True)
    rows.append(
        measure_verify(
            "(c) verification, online (DatabaseTrust)",
            "verify.verify_presentation, a new DatabaseTrust per call (as the API): all claims + KB-JWT, status list, log inclusion proof",
            items,
            DatabaseTrust,
        )
    )

    t0 = time.perf_counter()
    bundle = services.trust_bundle()
    notes["trust_bundle_s"] = round(time.perf_counter() - t0, 3)
    notes["trust_bundle_bytes"] = len(json.dumps(bundle))
    offline = BundleTrust(bundle)
    print(f"(d) verification with BundleTrust x{args.verify:,} ...", flush=True)
    rows.append(
        measure_verify(
            "(d) verification, offline (BundleTrust)",
            "verify.verify_presentation, one BundleTrust over services.trust_bundle() (keys, status lists, signed tree head; no inclusion proofs)",
            items,
            lambda: offline,
        )
    )

    # SQL statements of one call each (untimed).
    presentation, nonce = items[0]
    if connection.vendor == "postgresql":  # its statement runs past Django's wrappers: count on the wire
        from tungban.testing.pgwire import relayed

        with relayed(connection) as wire:
            verify_presentation(presentation, DatabaseTrust(), expected_nonce=nonce)
            notes["queries_per_verification_online"] = len(wire.statements)
    else:
        with CaptureQueriesContext(connection) as q:
            verify_presentation(presentation, DatabaseTrust(), expected_nonce=nonce)
        notes["queries_per_verification_online"] = len(q)
    with CaptureQueriesContext(connection) as q:
        verify_presentation(presentation, offline, expected_nonce=nonce)
    notes["queries_per_verification_offline"] = len(q)
    with CaptureQueriesContext(connection) as q:
        services.issue(ctype, single_holders[0].resident, {"card_number": "SC99999999"}, issued_by="bench:queries")
    notes["queries_per_single_issuance"] = len(q)

    notes["credentials_total"] = Credential.objects.count()
    notes["status_lists"] = StatusList.objects.count()
    notes["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {
        "benchmark": "credentials",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": versions(),
        "database": database,
        "credential_type": TYPE_ID,
        "settings": {"bulk": args.bulk, "single": args.single, "verify": args.verify, "profile": args.profile},
        "rows": rows,
        "notes": notes,
    }
    if args.profile:
        # Re-issue to the first holders of the bulk file (a holder may hold several cards).
        again = bulk_holders[: args.profile_bulk]
        result["profile"] = {
            "issuance": profile(
                f"issuance (issue_bulk, {len(again):,} rows)",
                lambda: services.issue_bulk(ctype, bulk_csv(again, 2 * 10**6), issued_by="bench:profile"),
                ISSUANCE_PARTS,
            ),
            "verification": profile(
                f"verification (DatabaseTrust x{args.profile_verify})",
                lambda: measure_verify("profile", "", items[: args.profile_verify], DatabaseTrust),
                VERIFY_PARTS,
            ),
            "verification_offline": profile(
                f"offline-verification (BundleTrust x{args.profile_verify})",
                lambda: measure_verify("profile", "", items[: args.profile_verify], lambda: offline),
                VERIFY_PARTS,
            ),
        }
    # After the profiles: tungban.wsgi starts the signing isolation pool's threads, which
    # cProfile (sys.monitoring, every thread) would see.
    if not args.no_typescript:
        print(f"(e) offline side by side with the TypeScript verifier x{args.verify:,} ...", flush=True)
        rows += measure_side_by_side(items, bundle)
    print(f"(g) online in-process through the WSGI application x{args.verify:,} ...", flush=True)
    rows.append(measure_in_process(items))
    if not args.no_http:
        print(f"(f) online through HTTP, {args.http_connections} connections, {args.http_seconds:g} s ...", flush=True)
        rows.append(
            measure_http(
                items,
                Path(os.environ["TUNGBAN_VAR_DIR"]),
                connections=args.http_connections,
                seconds=args.http_seconds,
                workers=args.workers,
            )
        )

    notes["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with scratch_dir("tungban-bench-credentials-", args.keep) as tmp:
        isolate(tmp, args.database_url)
        result = run(args)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    m, n = result["machine"], result["notes"]
    print()
    print(
        f"tungban credentials benchmark — {result['date']} — {m['cpu']} ({m['cpus']} CPUs), Python {m['python']} — "
        f"{result['database']} — load average {' '.join(map(str, n['loadavg_start']))} at start, "
        f"{' '.join(map(str, n['loadavg_end']))} at end{' — quick' if args.quick else ''}"
    )
    print_table(result["rows"])
    bulk = result["rows"][0]
    print(
        f"\nBulk: parse + per-row checks alone {bulk['checks_seconds']:.2f} s of {bulk['seconds']:.2f} s "
        f"({100 * bulk['checks_seconds'] / bulk['seconds']:.0f} %); CSV {bulk['bytes']:,} bytes"
    )
    print(
        f"Verifications valid: online {result['rows'][2]['valid']:,}/{result['rows'][2]['count']:,}, "
        f"offline {result['rows'][3]['valid']:,}/{result['rows'][3]['count']:,}; presentations {n['presentation_bytes_mean']:,} bytes on average; "
        f"trust bundle {n['trust_bundle_bytes']:,} bytes built in {n['trust_bundle_s']} s"
    )
    print(
        f"SQL statements: {n['queries_per_single_issuance']} per single issuance, {n['queries_per_verification_online']} per online "
        f"verification, {n['queries_per_verification_offline']} per offline verification"
    )
    side = [r for r in result["rows"] if r["name"].startswith("(e)")]
    if side:
        py = side[0]
        for ts in side[1:]:
            print(
                f"Offline side by side: tungban {py['per_second']:,.1f}/s ({py['cpu_seconds'] / py['count'] * 1e6:,.0f} µs CPU each) vs "
                f"{ts['name'][len('(e) offline, ') :]} {ts['per_second']:,.1f}/s ({ts['cpu_seconds'] / ts['count'] * 1e6:,.0f} µs CPU each): "
                f"tungban/TypeScript {py['per_second'] / ts['per_second']:.2f} (wall clock), "
                f"{py['per_cpu_second'] / ts['per_cpu_second']:.2f} (per CPU second)"
            )
    for r in result["rows"]:
        if r["name"].startswith("(g)"):
            print(
                f"Online in-process: {r['cpu_us_per_request']:,} µs CPU and {r['queries_per_request']} SQL statements per request"
            )
        if r["name"].startswith("(f)"):
            print(
                f"Online through HTTP: {r['per_second']:,.1f} requests/s, errors {r['errors']}, "
                f"server CPU {r['server_cpu_us_per_request']} µs per request"
            )
    print(
        f"Set-up: migrate {n['migrate_s']} s, seeding {n['seed_s']} s, presentations {n['presentations_s']} s (untimed); wall time {result['wall_seconds']} s"
    )
    out = args.output or (None if args.quick else RESULTS / f"credentials-{dt.date.today().isoformat()}.json")
    if out:
        write_results(result, out)
        print(f"Results: {out}")
    ok = all(r["valid"] == r["count"] for r in result["rows"] if "valid" in r)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
