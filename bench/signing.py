#!/usr/bin/env python
"""Benchmark of digital signing (tungban+ accounts, ``tungban.signing``) on this machine.

Run from the checkout::

    .venv/bin/python bench/signing.py            # full run (1-2 minutes)
    .venv/bin/python bench/signing.py --quick    # under a minute (bulk requests of 20, not 50)
    .venv/bin/python bench/signing.py --quick --profile   # plus a cProfile of PDF and hash signing

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``,
SQLite database, secret key, CA hierarchy and SoftHSM2 token; nothing under ``var/`` is
touched), creates a plus-tier resident with a bound device, and measures through the real
service code:

a. hash signing: detached CMS (CAdES-BES + RFC 3161 time stamp) per second with
   ``services._cades``, the signer (``services._signer_for``) and ``ca.timestamper()``
   made once, as ``services.run_signing`` does for the documents of a request;
b. PDF signing: PAdES B-T with the visible bilingual stamp, 1-page PDF made with fpdf2,
   with ``pdf.sign_pdf`` (as ``run_signing`` calls it): with a new signing time per call
   (a new stamp each time, as for one-PDF requests) and with one signing time for all
   calls (as for the PDFs of one request, which share the stamp);
c. bulk: one request of 50 digests and one of 50 PDFs (a request cannot mix the two), each
   submitted with ``services.create_request`` (a ``client_credentials`` token) and approved
   once with ``wallet.services.decide`` and a device JWS — the production path: the
   ``approval_decided`` signal queues the signing job, run here in-process as a worker would;
d. key + certificate creation per second with ``services.ensure_credential`` (a new device
   each time, as after a re-bind).

Results are printed as a table and written to ``bench/results/signing-<date>.json``
(``-quick`` added for ``--quick``; ``--output`` overrides).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import platform
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import (  # bench/machine.py (this directory is on sys.path)
    cpu_model,
    package_versions,
    scratch_dir,
    write_results,
)
from machine import print_table as aligned_table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

FULL = {"hash": 200, "pdf": 50, "bulk": 50, "keys": 50, "setup": 20, "profile": 20}
QUICK = {"hash": 40, "pdf": 8, "bulk": 20, "keys": 10, "setup": 5, "profile": 8}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer iterations (under a minute)")
    p.add_argument(
        "--keystore",
        choices=["auto", "pkcs11", "software"],
        default="auto",
        help="TUNGBAN_KEYSTORE for this run (default auto)",
    )
    p.add_argument(
        "--bulk", type=int, help="documents per bulk request (default 50, the platform's maximum; 20 with --quick)"
    )
    p.add_argument("--only", default="abcd", help="measurements to run, e.g. 'ab' (default abcd)")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile PDF and hash signing with cProfile and print where the time goes",
    )
    p.add_argument("--output", type=Path, help="JSON results file (default bench/results/signing-<date>[-quick].json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (printed at the end)")
    return p.parse_args(argv)


def isolate(tmp: Path, keystore: str) -> None:
    """Point the platform at ``tmp`` before Django reads its settings."""
    os.environ["TUNGBAN_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["TUNGBAN_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["TUNGBAN_KEYSTORE"] = keystore
    os.environ["TUNGBAN_ISSUER"] = "http://localhost:8000"
    os.environ.setdefault("TUNGBAN_LOG_LEVEL", "WARNING")
    module = os.environ.get("TUNGBAN_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
    if module.endswith("libsofthsm2.so"):
        # A fresh SoftHSM2 token under tmp (settings derive SOFTHSM2_CONF from the var dir).
        for name in ("SOFTHSM2_CONF", "TUNGBAN_PKCS11_PIN"):
            os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tungban.settings"
    sys.path.insert(0, str(ROOT / "src"))


# --- helpers (after django.setup()) ------------------------------------------------------------


def one_page_pdf() -> bytes:
    from fpdf import FPDF

    doc = FPDF(format="A4")
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.multi_cell(0, 6, "Application form (benchmark)\n\n" + "The quick brown fox jumps over the lazy dog. " * 40)
    return bytes(doc.output())


def make_device(resident):
    """A bound device row with a fresh P-256 key (what complete_binding stores)."""
    from joserfc.jwk import ECKey

    from tungban.wallet.models import Device

    key = ECKey.generate_key("P-256")
    device = Device.objects.create(
        resident=resident,
        platform="cli",
        name="bench",
        public_jwk=key.as_dict(private=False),
        jwk_thumbprint=key.thumbprint(),
    )
    return device, key


def approve(approval, device, key):
    """Approve as the app does: an ES256 JWS over the request (and the document digests)."""
    from joserfc import jws

    from tungban.wallet import services as wallet

    payload = {
        "request_id": str(approval.id),
        "requester": approval.requester_id,
        "nonce": approval.nonce,
        "decision": "approve",
        "claims": [],
        **wallet.bound_values(approval),  # the documents' digests
    }
    signature = jws.serialize_compact({"alg": "ES256", "kid": str(device.id)}, json.dumps(payload).encode(), key)
    return wallet.decide(approval.id, device, signature)


def row(
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
        "per_second": round(count / seconds, 2) if seconds else None,
    }
    if latencies:
        ordered = sorted(latencies)
        r["median_ms"] = round(statistics.median(ordered) * 1000, 2)
        r["p95_ms"] = round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2)
        r["min_ms"] = round(ordered[0] * 1000, 2)
    else:
        r["median_ms"] = r["p95_ms"] = r["min_ms"] = None
        r["mean_ms"] = round(seconds / count * 1000, 2) if count else None
    return r


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def print_table(rows: list[dict]) -> None:
    head = ("Measurement", "Count", "Seconds", "Per second", "Median ms", "p95 ms")
    lines = []
    for r in rows:
        med = r["median_ms"] if r["median_ms"] is not None else r.get("mean_ms")
        med_s = f"{med:.1f}" + ("" if r["median_ms"] is not None else " (mean)") if med is not None else "-"
        lines.append(
            (
                r["name"],
                str(r["count"]),
                f"{r['seconds']:.2f}",
                f"{r['per_second']:.1f}" if r["per_second"] else "-",
                med_s,
                f"{r['p95_ms']:.1f}" if r["p95_ms"] is not None else "-",
            )
        )
    aligned_table(head, lines)
    print()
    for r in rows:
        print(f"  {r['name']}: {r['path']}")


def versions() -> dict:
    out = package_versions(("Django", "cryptography", "pyHanko", "fpdf2", "python-pkcs11", "fonttools"))
    try:
        out["softhsm2"] = (
            subprocess.run(["softhsm2-util", "--version"], capture_output=True, text=True, timeout=5).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        out["softhsm2"] = None
    return out


# --- the benchmark ---------------------------------------------------------------------------


def run(args, tmp: Path) -> dict:
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from tungban.oidc.models import Token
    from tungban.signing import ca, keystore, pdf, services
    from tungban.signing.models import SigningCredential
    from tungban.testing.factories import make_client, make_officer, make_resident
    from tungban.testing.migrated import migrate_database
    from tungban.testing.tasks import run_queued_tasks
    from tungban.wallet.models import Device

    n = dict(QUICK if args.quick else FULL)
    notes: dict = {"loadavg_start": os.getloadavg()}
    if args.bulk:
        n["bulk"] = args.bulk
    rows: list[dict] = []

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    notes["migrate_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    ca.ensure_hierarchy()
    notes["ca_hierarchy_s"] = round(time.perf_counter() - t0, 2)

    resident = make_resident(make_officer())
    assert resident.tier == "plus", resident.tier
    device, device_key = make_device(resident)

    t0 = time.perf_counter()
    store = keystore.get_keystore()
    notes["keystore_open_s"] = round(time.perf_counter() - t0, 2)
    with transaction.atomic():
        credential = services.ensure_credential(resident, device)
    print(
        f"Keystore: {store.kind}"
        + (
            f" ({os.environ.get('TUNGBAN_PKCS11_MODULE', '/usr/lib/softhsm/libsofthsm2.so')})"
            if store.kind == "pkcs11"
            else ""
        )
    )

    # Per-request set-up that run_signing does once per request (not per document).
    def setup(_i):
        services._signer_for(credential)
        ca.timestamper()

    setup(0)  # warm-up
    setup_lat = timed(setup, n["setup"])
    signer, _cert = services._signer_for(credential)
    tsp = ca.timestamper()
    signer_name = ca.common_name(resident)
    signed_at = timezone.now()

    # (a) hash signing
    digests = [hashlib.sha256(f"document {i}".encode()).hexdigest() for i in range(n["hash"] + 1)]
    t0 = time.perf_counter()
    first_cms = services._cades(signer, digests[-1], tsp)
    notes["first_cms_s"] = round(time.perf_counter() - t0, 3)
    if "a" in args.only:
        print(f"(a) hash signing x{n['hash']} ...", flush=True)
        rows.append(
            row(
                "(a) hash signing (CAdES + TST)",
                "services._cades, signer from services._signer_for and ca.timestamper() made once (as run_signing does per request)",
                timed(lambda i: services._cades(signer, digests[i], tsp), n["hash"]),
            )
        )

    # (b) PDF signing
    source = one_page_pdf()
    t0 = time.perf_counter()
    first_pdf = pdf.sign_pdf(
        source, signer, signer_name=signer_name, reason="Benchmark", signed_at=signed_at, timestamper=tsp
    )
    notes["first_pdf_s"] = round(time.perf_counter() - t0, 3)
    if "b" in args.only:
        # A new signing time per call, so the stamp is drawn every time (one PDF per request),
        # then one signing time for all (the documents of one bulk request share the stamp).
        print(f"(b) PDF signing x{n['pdf']} (new stamp each) ...", flush=True)
        rows.append(
            row(
                "(b) PDF signing (PAdES B-T, stamp)",
                "pdf.sign_pdf, 1-page A4 PDF (fpdf2), a new signing time (so a new stamp) per call, as for one-PDF requests",
                timed(
                    lambda i: pdf.sign_pdf(
                        source,
                        signer,
                        signer_name=signer_name,
                        reason="Benchmark",
                        signed_at=signed_at + dt.timedelta(seconds=i + 1),
                        timestamper=tsp,
                    ),
                    n["pdf"],
                ),
            )
        )
        print(f"(b) PDF signing x{n['pdf']} (same stamp) ...", flush=True)
        shared_stamp = pdf.stamp_pdf(signer_name, signed_at)  # drawn once per request, as run_signing does
        rows.append(
            row(
                "(b) PDF signing, same signer+time",
                "pdf.sign_pdf as above with one signing time for all calls, as run_signing does for the PDFs of one request",
                timed(
                    lambda i: pdf.sign_pdf(
                        source,
                        signer,
                        signer_name=signer_name,
                        reason="Benchmark",
                        signed_at=signed_at,
                        timestamper=tsp,
                        stamp=shared_stamp,
                    ),
                    n["pdf"],
                ),
            )
        )
    notes["pdf_bytes_in"] = len(source)
    notes["pdf_bytes_out"] = len(first_pdf)
    notes["cms_bytes"] = len(first_cms)
    notes["checks"] = check_outputs(first_cms, digests[-1], first_pdf)

    # (c) bulk requests, approved once each through wallet.decide (production path)
    client, _secret = make_client("bench-svc", "https://bench.example/cb", allowed_scopes=["openid", "signing"])
    token = Token.objects.create(
        access_token=secrets.token_urlsafe(32),
        client=client,
        scope="signing",
        issued_at=int(time.time()),
        expires_in=3600,
    )
    bulk_total = 0.0
    for kind, docs in (
        ()
        if "c" not in args.only
        else (
            (
                "hash",
                [
                    {"name": f"doc-{i}.txt", "sha256": hashlib.sha256(f"bulk {i}".encode()).hexdigest()}
                    for i in range(n["bulk"])
                ],
            ),
            ("pdf", [{"name": f"form-{i}.pdf", "pdf": base64.b64encode(source).decode()} for i in range(n["bulk"])]),
        )
    ):
        print(f"(c) bulk {kind} x{n['bulk']} ...", flush=True)
        t0 = time.perf_counter()
        req = services.create_request(token, docs, reason="Benchmark bulk")
        submit = time.perf_counter() - t0
        t0 = time.perf_counter()
        approve(req.approval, device, device_key)
        run_queued_tasks()  # the signing job, as `tungban worker` runs it
        seconds = time.perf_counter() - t0
        req.refresh_from_db()
        assert req.status() == "signed", req.status()
        assert all(d.result for d in req.documents.all())
        bulk_total += seconds
        r = row(
            f"(c) bulk {n['bulk']} {'digests' if kind == 'hash' else 'PDFs'}, 1 approval",
            "services.create_request, then wallet.services.decide (device JWS) -> signal -> services.accept_approval, then the signing task (services.run_signing)",
            count=n["bulk"],
            seconds=seconds,
        )
        r["submit_seconds"] = round(submit, 3)
        r["path"] += f" (create_request itself: {submit:.2f} s, untimed)"
        rows.append(r)
    if "c" in args.only:
        rows.append(
            row(
                f"(c) bulk total ({2 * n['bulk']} documents)",
                "sum of the two approvals above",
                count=2 * n["bulk"],
                seconds=bulk_total,
            )
        )

    # (d) key + certificate creation: a new device each time (as after a re-bind)
    key_lat = []
    for _ in range(n["keys"] if "d" in args.only else 0):
        Device.objects.filter(pk=device.pk).update(status="unbound")  # untimed; no revocation
        if not key_lat:
            print(f"(d) key + certificate x{n['keys']} ...", flush=True)
        device, device_key = make_device(resident)
        t0 = time.perf_counter()
        with transaction.atomic():
            services.ensure_credential(resident, device)
        key_lat.append(time.perf_counter() - t0)
    if key_lat:
        rows.append(
            row(
                f"(d) key + certificate ({store.kind})",
                "services.ensure_credential (keystore.generate + ca.issue_end_entity + save + audit)",
                key_lat,
            )
        )
    rows.append(
        row("per-request set-up", "services._signer_for + ca.timestamper (once per request in run_signing)", setup_lat)
    )
    assert SigningCredential.objects.filter(resident=resident).count() == len(key_lat) + 1

    notes["loadavg_end"] = os.getloadavg()
    result = {
        "benchmark": "signing",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "keystore": store.kind,
        "keystore_requested": args.keystore,
        "machine": {
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": versions(),
        "stamp_font": pdf.stamp_font(),
        "database": "sqlite (temporary)",
        "rows": rows,
        "notes": notes,
    }
    if args.profile:
        result["profile"] = {
            "pdf": profile(
                "pdf",
                n["profile"],
                lambda i: pdf.sign_pdf(
                    source,
                    signer,
                    signer_name=signer_name,
                    reason="Benchmark",
                    signed_at=signed_at - dt.timedelta(seconds=i + 1),
                    timestamper=tsp,
                ),
            ),
            "hash": profile("hash", n["profile"], lambda i: services._cades(signer, digests[i % len(digests)], tsp)),
        }
    return result


def check_outputs(cms_der: bytes, digest_hex: str, signed_pdf: bytes) -> dict:
    """Untimed sanity checks: the CMS covers the digest and has a time stamp; the PDF
    signature validates against the platform root (intact, trusted)."""
    from asn1crypto import cms
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from tungban.signing import ca
    from tungban.signing.models import AuthorityRole

    info = cms.ContentInfo.load(cms_der)
    signer_info = info["content"]["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    unsigned = [a["type"].native for a in signer_info["unsigned_attrs"]] if signer_info["unsigned_attrs"].native else []
    root = ca.asn1(ca.certificate(AuthorityRole.ROOT))
    sig = PdfFileReader(io.BytesIO(signed_pdf)).embedded_signatures[0]
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root], allow_fetching=False))
    return {
        "cms_message_digest_matches": attrs["message_digest"].native.hex() == digest_hex,
        "cms_has_timestamp": "signature_time_stamp_token" in unsigned,
        "pdf_intact": status.intact,
        "pdf_valid": status.valid,
        "pdf_trusted": status.trusted,
        "pdf_has_timestamp": status.timestamp_validity is not None,
    }


def profile(label: str, count: int, fn) -> dict:
    """cProfile ``count`` calls of ``fn``; print the top functions, save the stats."""
    print(f"Profiling {label} x{count} ...", flush=True)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for i in range(count):
        fn(i)
    prof.disable()
    total = time.perf_counter() - t0
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    # Outside the checkout: profiles are for reading now, not for committing.
    prof_dir = Path(tempfile.gettempdir()) / "tungban-bench"
    prof_dir.mkdir(exist_ok=True)
    prof_path = prof_dir / f"signing-{label}-{dt.date.today().isoformat()}.prof"
    stats.dump_stats(prof_path)
    print(out.getvalue())
    print(f"cProfile data: {prof_path} (read with: .venv/bin/python -m pstats {prof_path})")
    return {"count": count, "seconds_under_profiler": round(total, 3), "prof_file": str(prof_path)}


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with scratch_dir("tungban-bench-", args.keep) as tmp:
        isolate(tmp, args.keystore)
        result = run(args, tmp)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    print()
    print(
        f"tungban signing benchmark — {result['date']} — keystore: {result['keystore']} — "
        f"{result['machine']['cpu']} ({result['machine']['cpus']} CPUs), Python {result['machine']['python']}"
        f"{' — quick' if args.quick else ''}"
    )
    print_table(result["rows"])
    print(f"\nChecks: {result['notes']['checks']}")
    print(
        f"First calls (cold): CMS {result['notes']['first_cms_s']} s, PDF {result['notes']['first_pdf_s']} s; wall time {result['wall_seconds']} s"
    )
    out = args.output or RESULTS / f"signing-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    print(f"Results: {write_results(result, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
