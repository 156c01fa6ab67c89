#!/usr/bin/env python
"""Benchmark of the e-services (issue 17, acceptance 4) on this machine.

Run from the checkout::

    .venv/bin/python bench/eservices.py            # 1,500 services, 3,800 forms, 300 submissions, concurrency 4
    .venv/bin/python bench/eservices.py --quick    # the same catalogue, 60 submissions, concurrency 2, fewer renders

It builds an isolated platform in a temporary directory (``machine.isolate``: its own
``TUNGBAN_VAR_DIR``, secret key; nothing under ``var/`` is touched) on a PostgreSQL cluster
of its own on loopback (``oidc.Postgres``, default durability), and runs the platform as
``tungban serve`` runs it (``machine.start_server``: granian, ``--workers`` processes of
``TUNGBAN_WEB_THREADS`` threads, DEBUG off).

Seeding (untimed; its durations are printed):

* **the catalogue**: the shipped catalogue files copied, plus generated synthetic files up to
  ``--services`` services (spread over the shipped departments and categories; one in three
  fully online with its own form; one in five cross-boundary) and ``--forms`` forms (each a
  copy of the Senior Citizen Card form under its own name), loaded with the real loader
  (``services.load_catalogue``, the command ``tungban load_catalogue`` runs: every file checked,
  one transaction);
* **drafts**: ``--applications`` residents (``identity.register_at_counter``), each with a
  complete Senior Citizen Card draft (``services.start_application``, then every page saved and
  a photo uploaded through ``services``, as ``eservices/tests/helpers.fill_senior_card`` does)
  and a portal session (a row of Django's session store with the portal's login, as
  ``eservices.login.log_in`` writes it, and a CSRF cookie).

Timed:

1. **Submissions**, through the real HTTP stack: ``--concurrency`` threads, each with its own
   keep-alive connection, ``POST /services/my/<reference>/check`` (the resident's "Submit",
   with the session and CSRF cookies and the form version's digest) until every draft is
   submitted; a submission counts when it answers 302 to the status page. Submissions/s =
   submitted / wall time of the phase; p50/p99 of each request.
2. **Officer actions** on every submitted application: assign (submitted -> in review) and
   approve (-> approved; the e-licence is issued right after the commit, as the foundation
   does), by ``--concurrency`` threads. By default SWD's case system acts **through the
   department API** over HTTP (:class:`ApiOfficer`: ``client_credentials`` with scope
   ``eservices``, ``POST /api/v1/eservices/applications/<reference>/assign`` and ``…/approve``
   with an ``Idempotency-Key``); ``--officer-via services`` acts through
   ``tungban.eservices.services`` in this process instead (:class:`ServicesOfficer`).
3. **Catalogue rendering**, with the whole catalogue loaded: ``--renders`` sequential GETs over
   one keep-alive connection per URL (after 3 untimed), pages and API, English and Chinese,
   a search, a filter, a deep page, one service with its form, and a conditional GET (304).

Checks (the run fails otherwise): every draft submitted, every application's licence issued,
the catalogue's counts as asked. Results are written to
``bench/results/eservices-<date>[-quick].json``. The machine may be shared: the load average
at start and end is printed with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import queue
import shutil
import signal
import sys
import threading
import time
import tomllib
from pathlib import Path
from urllib.parse import urlencode

from exchange import _interrupted, bench_hkid  # bench/exchange.py (this directory is on sys.path)
from machine import (  # bench/machine.py
    isolate,
    listening_socket,
    machine,
    print_table,
    scratch_dir,
    start_server,
    wait_until_up,
    write_results,
)
from oidc import Postgres, apt_install, postgres_bin  # bench/oidc.py: the throwaway PostgreSQL cluster

RESULTS = Path(__file__).resolve().parent / "results"
SERVICE = "senior-citizen-card"
TEMPLATE_FORM = "swd-senior-citizen-card"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="60 submissions, concurrency 2, 20 renders per URL")
    p.add_argument("--services", type=int, default=1500, help="services in the catalogue (shipped + synthetic)")
    p.add_argument("--forms", type=int, default=3800, help="forms in the catalogue (shipped + synthetic)")
    p.add_argument("--applications", type=int, help="drafts to submit (default 300; quick 60)")
    p.add_argument("--concurrency", type=int, help="client threads (default 4; quick 2)")
    p.add_argument("--renders", type=int, help="timed GETs per catalogue URL (default 100; quick 20)")
    p.add_argument("--workers", type=int, default=2, help="server processes")
    p.add_argument("--server", help="tungban serve's server (default: its own)")
    p.add_argument(
        "--officer-via",
        choices=["api", "services"],
        default="api",
        help="how officers act: the department API over HTTP (default) or tungban.eservices.services in-process",
    )
    p.add_argument("--output", type=Path, help="results JSON (default bench/results/eservices-<date>.json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    args.applications = args.applications or (60 if args.quick else 300)
    args.concurrency = args.concurrency or (2 if args.quick else 4)
    args.renders = args.renders or (20 if args.quick else 100)
    return args


def percentile_ms(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in ms."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 2)


def in_threads(worker, concurrency: int) -> float:
    """Run ``worker`` in ``concurrency`` threads; the wall time until all end, in seconds."""
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def summary(latencies: list[float], wall: float, done: int) -> dict:
    ordered = sorted(latencies)
    return {
        "count": done,
        "seconds": round(wall, 3),
        "per_second": round(done / wall, 1) if wall else None,
        "p50_ms": percentile_ms(ordered, 50),
        "p99_ms": percentile_ms(ordered, 99),
    }


# --- the synthetic catalogue ----------------------------------------------------------------------


def write_catalogue(root: Path, services_total: int, forms_total: int) -> dict:
    """The shipped catalogue copied to ``root`` plus synthetic files up to ``services_total``
    services and ``forms_total`` forms. Returns the counts written."""
    from tungban.eservices.services import DEFAULT_ROOT
    from tungban.eservices.services.browse import CATEGORIES

    shutil.copytree(DEFAULT_ROOT, root)
    shipped_services = len(list((root / "services").glob("*/*.toml")))
    shipped_forms = len(list((root / "forms").glob("*/v*.json")))
    extra_services = max(0, services_total - shipped_services)
    extra_forms = max(0, forms_total - shipped_forms)
    template = json.loads((root / "forms" / TEMPLATE_FORM / "v1.json").read_text(encoding="utf-8"))
    for i in range(extra_forms):
        slug = f"bench-form-{i:04d}"
        (root / "forms" / slug).mkdir()
        # A definition of its own (a $comment in the schema): the loader checks each distinct
        # definition once, so identical copies would measure one check, not the catalogue's.
        schema = {**template["schema"], "$comment": f"synthetic form {i}"}
        doc = {
            **template,
            "form": slug,
            "title_en": f"Synthetic form {i}",
            "title_zh": f"合成表格{i}",
            "schema": schema,
        }
        (root / "forms" / slug / "v1.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    departments = [d["code"] for d in tomllib.loads((root / "departments.toml").read_text())["department"]]
    categories = list(CATEGORIES.items())
    for i in range(extra_services):
        dept = departments[i % len(departments)]
        category, (label_en, label_zh) = categories[i % len(categories)]
        online = i % 3 == 0 and i < extra_forms
        lines = [
            f'department = "{dept}"',
            f'name_en = "Synthetic {label_en.lower()} service {i}"',
            f'name_zh = "合成{label_zh}服務{i}"',
            f'summary_en = "A generated service of the benchmark, number {i}."',
            f'summary_zh = "基準測試產生的第{i}項服務。"',
            f'category = "{category}"',
            'channels = ["online", "counter", "post"]',
            f"online = {'true' if online else 'false'}",
            f'corpid = "{"allowed" if i % 2 else "no"}"',
        ]
        lines += [f'form = "bench-form-{i:04d}"', "pledge_working_days = 10"] if online else []
        lines += [] if online else ['external_url = "https://www.gov.hk"']
        lines += [
            "",
            "[[fee_items]]",
            'code = "fee"',
            'label_en = "Fee"',
            'label_zh = "費用"',  # its amount would be the payments app's fee schedule (issue 18)
        ]
        if i % 5 == 0:
            lines += ["", "[cross_boundary]", 'gba_cities = ["Shenzhen", "Guangzhou"]', "kiosk = true"]
        (root / "services" / dept.lower()).mkdir(exist_ok=True)
        path = root / "services" / dept.lower() / f"bench-service-{i:04d}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"services": shipped_services + extra_services, "forms": shipped_forms + extra_forms}


# --- drafts and sessions ----------------------------------------------------------------------------


def seed_drafts(n: int) -> list[dict]:
    """``n`` residents, each with a complete Senior Citizen Card draft and a portal session:
    ``[{"reference", "digest", "cookie", "csrf"}]``."""
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.middleware.csrf import _get_new_csrf_string

    from tungban.eservices import login, services
    from tungban.eservices.tests.helpers import fill_senior_card
    from tungban.testing.factories import make_officer, make_resident

    officer = make_officer()
    service = services.get_service(SERVICE)
    out = []
    for i in range(n):
        with transaction.atomic():
            resident = make_resident(officer, hkid=bench_hkid(i), email=f"bench{i}@example.hk")
            sub = f"bench-sub-{i}"
            app = services.start_application(resident, service, portal_sub=sub, idempotency_key=f"bench-{i}")
            fill_senior_card(services, app, resident)
            session = SessionStore()
            session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": sub}
            session.set_expiry(3600)
            session.create()
        csrf = _get_new_csrf_string()
        out.append(
            {
                "reference": app.reference,
                "digest": app.form_version.digest,
                "csrf": csrf,
                "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; {settings.CSRF_COOKIE_NAME}={csrf}",
            }
        )
    return out


# --- load ----------------------------------------------------------------------------------------------


def submit_all(host: str, port: int, drafts: list[dict], concurrency: int) -> dict:
    """Every draft submitted over HTTP by ``concurrency`` threads (one keep-alive connection
    each). Returns the phase's :func:`summary` plus ``errors`` (``{status: n}``)."""
    work: queue.Queue = queue.Queue()
    for d in drafts:
        work.put(d)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            try:
                d = work.get_nowait()
            except queue.Empty:
                break
            body = urlencode({"csrfmiddlewaretoken": d["csrf"], "form_version": d["digest"]})
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": d["cookie"]}
            t0 = time.perf_counter()
            conn.request("POST", f"/services/my/{d['reference']}/check", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - t0
            ok = response.status == 302 and "submitted=1" in (response.getheader("Location") or "")
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[str(response.status)] = errors.get(str(response.status), 0) + 1
        conn.close()

    wall = in_threads(worker, concurrency)
    return {**summary(latencies, wall, len(latencies)), "errors": errors}


class ApiOfficer:
    """SWD's case system acting through the department API over HTTP (the default): a client
    registered with its own key (``private_key_jwt``, RFC 7523) and
    ``webhooks.register_system``; a ``client_credentials`` token with scope ``eservices``
    (``examples.data_user.DataUser``, reused until near expiry); ``POST
    /api/v1/eservices/applications/<reference>/assign`` then ``…/approve``, each with an
    ``Idempotency-Key``; one keep-alive session per thread."""

    def __init__(self, issuer: str):
        from tungban.eservices.tests.staffing import department_system

        self.issuer = issuer
        self.system = department_system(issuer, "SWD")
        self.local = threading.local()

    def _post(self, reference: str, action: str, body: dict | None) -> None:
        import uuid

        import requests

        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        resp = session.post(
            f"{self.issuer}/api/v1/eservices/applications/{reference}/{action}",
            json=body,
            headers={"Authorization": f"Bearer {self.system.token()}", "Idempotency-Key": f'"{uuid.uuid4()}"'},
            timeout=60,
        )
        if resp.status_code != 200:
            raise RuntimeError(f"HTTP {resp.status_code} {resp.text[:80]}")

    def assign(self, reference: str) -> None:
        self._post(reference, "assign", None)

    def approve(self, reference: str) -> None:
        self._post(reference, "approve", {"en": "OK", "zh": "批准"})

    def done(self) -> None:
        session = getattr(self.local, "session", None)
        if session is not None:
            session.close()


class ServicesOfficer:
    """An SWD officer and approver acting through :mod:`tungban.eservices.services` (in this
    process, one database connection per thread): ``--officer-via services``, the alternative
    that leaves HTTP and token checks out."""

    def __init__(self):
        from tungban.eservices.tests.helpers import department_user

        self.officer = department_user("bench-swd-officer", "SWD", "officer")
        self.approver = department_user("bench-swd-approver", "SWD", "approver")

    def assign(self, reference: str) -> None:
        from tungban.eservices import services

        services.assign(services.get_application(reference), self.officer)

    def approve(self, reference: str) -> None:
        from tungban.eservices import services

        services.approve(services.get_application(reference), self.approver, reason_en="OK", reason_zh="批准")

    @staticmethod
    def done() -> None:
        from django.db import connection

        connection.close()


def officer_actions(officer, references: list[str], concurrency: int) -> dict:
    """``assign`` then ``approve`` of every reference by ``concurrency`` threads. Returns
    ``{"assign": summary, "approve": summary, "all": summary, "errors": {...}}``."""
    work: queue.Queue = queue.Queue()
    for ref in references:
        work.put(ref)
    times: dict[str, list[float]] = {"assign": [], "approve": []}
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def worker():
        try:
            while True:
                try:
                    ref = work.get_nowait()
                except queue.Empty:
                    break
                for action in ("assign", "approve"):
                    t0 = time.perf_counter()
                    try:
                        getattr(officer, action)(ref)
                    except Exception as exc:  # noqa: BLE001 - counted and shown
                        with lock:
                            key = f"{action}: {getattr(exc, 'code', type(exc).__name__)}"
                            errors[key] = errors.get(key, 0) + 1
                        break
                    with lock:
                        times[action].append(time.perf_counter() - t0)
        finally:
            officer.done()

    wall = in_threads(worker, concurrency)
    every = times["assign"] + times["approve"]
    return {
        "assign": summary(times["assign"], wall, len(times["assign"])),
        "approve": summary(times["approve"], wall, len(times["approve"])),
        "all": summary(every, wall, len(every)),
        "errors": errors,
    }


def render_urls() -> list[tuple[str, str, dict]]:
    api = "/api/v1/eservices/catalogue"
    en, zh = {"Accept-Language": "en"}, {"Accept-Language": "zh-HK"}  # pages default to Chinese (LANGUAGE_CODE)
    return [
        ("page: catalogue, first page", "/services/", en),
        ("page: catalogue, first page (zh)", "/services/", zh),
        ("page: search 護照 (zh)", "/services/?" + urlencode({"q": "護照"}), zh),
        ("page: search 'synthetic tax'", "/services/?" + urlencode({"q": "synthetic tax"}), en),
        ("page: cross-boundary, page 5", "/services/?cross_boundary=1&page=5", en),
        ("page: one service", f"/services/{SERVICE}/", en),
        ("api: services, 100 per page", f"{api}/services?per_page=100", en),
        ("api: services, online + CorpID", f"{api}/services?online=true&corpid=true", en),
        ("api: one service with its form", f"{api}/services/{SERVICE}", en),
        ("api: the same, If-None-Match (304)", f"{api}/services/{SERVICE}", {"If-None-Match": "etag"}),
        ("api: departments", f"{api}/departments", en),
    ]


def time_renders(host: str, port: int, urls, renders: int) -> list[dict]:
    rows = []
    for name, path, headers in urls:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        if headers.get("If-None-Match") == "etag":
            conn.request("GET", path)
            first = conn.getresponse()
            first.read()
            headers = {"If-None-Match": first.getheader("ETag")}
        latencies, status, size = [], None, 0
        for i in range(3 + renders):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if i >= 3:
                latencies.append(time.perf_counter() - t0)
            status, size = response.status, len(body)
        conn.close()
        ordered = sorted(latencies)
        rows.append(
            {
                "what": name,
                "path": path,
                "status": status,
                "bytes": size,
                "p50_ms": percentile_ms(ordered, 50),
                "p99_ms": percentile_ms(ordered, 99),
            }
        )
    return rows


# --- the run --------------------------------------------------------------------------------------------


def run(args, tmp: Path) -> dict:
    bindir = postgres_bin()
    if bindir is None:
        apt_install("postgresql")
        bindir = postgres_bin()
    result: dict = {
        "benchmark": "eservices",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "settings": {
            k: getattr(args, k)
            for k in ("services", "forms", "applications", "concurrency", "renders", "workers", "officer_via")
        },
        "notes": {},
    }
    notes = result["notes"]
    m = result["machine"]
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs ({m['cpus_usable']} usable), {m['memory_mib']} MiB, load average at "
        f"start {' '.join(str(x) for x in m['loadavg_start'])} (a shared machine: other work may run meanwhile)",
        flush=True,
    )
    t0 = time.perf_counter()
    pg = Postgres(bindir)
    notes["postgres_start_s"] = round(time.perf_counter() - t0, 2)
    server = None
    try:
        sock = listening_socket()
        host, port = sock.getsockname()[:2]
        env = isolate(tmp, f"http://{host}:{port}", pg.create_database("tungban"))
        import django

        django.setup()
        from django.db import connections

        from tungban.credentials import catalogue as credential_catalogue
        from tungban.eservices import portal, services
        from tungban.eservices.models import Application, Form, Service, State
        from tungban.testing.migrated import migrate_database

        t0 = time.perf_counter()
        migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
        credential_catalogue.register_bundled()
        portal.ensure_portal()  # as `tungban setup` would: the portal's client and its notification sender
        notes["migrate_s"] = round(time.perf_counter() - t0, 2)

        t0 = time.perf_counter()
        written = write_catalogue(tmp / "catalogue", args.services, args.forms)
        notes["catalogue_files_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        counts = services.load_catalogue(tmp / "catalogue")
        notes["catalogue_load_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        again = services.load_catalogue(tmp / "catalogue")  # idempotent: nothing to add or check
        notes["catalogue_reload_s"] = round(time.perf_counter() - t0, 2)
        result["catalogue"] = {
            **counts,
            "versions_added_again": again["versions_added"],
            "services_in_database": Service.objects.count(),
            "forms_in_database": Form.objects.count(),
            "source": "generated synthetic catalogue files (plus the shipped ones) loaded by services.load_catalogue",
        }
        print(
            f"Catalogue: {result['catalogue']['services_in_database']} services, "
            f"{result['catalogue']['forms_in_database']} forms, {counts['departments']} departments "
            f"(files written in {notes['catalogue_files_s']} s, loaded in {notes['catalogue_load_s']} s, "
            f"loaded again unchanged in {notes['catalogue_reload_s']} s)",
            flush=True,
        )

        t0 = time.perf_counter()
        drafts = seed_drafts(args.applications)
        officer = ApiOfficer(f"http://{host}:{port}") if args.officer_via == "api" else ServicesOfficer()
        notes["seed_drafts_s"] = round(time.perf_counter() - t0, 2)
        print(f"Seeded {len(drafts)} complete drafts with portal sessions in {notes['seed_drafts_s']} s", flush=True)
        connections.close_all()

        t0 = time.perf_counter()
        server = start_server(sock, env, args.workers, tmp, server=args.server, log=tmp / "server.log")
        wait_until_up(f"http://{host}:{port}/services/", server, tmp / "server.log")
        notes["server_start_s"] = round(time.perf_counter() - t0, 2)
        # A few untimed requests so every worker has loaded its code.
        time_renders(host, port, render_urls()[:1], 2 * args.workers)

        print(f"Submitting {len(drafts)} applications, {args.concurrency} threads ...", flush=True)
        result["submissions"] = submit_all(host, port, drafts, args.concurrency)
        references = [d["reference"] for d in drafts]
        submitted = Application.objects.filter(reference__in=references, state=State.SUBMITTED).count()
        print(f"Officer actions through {args.officer_via}, {args.concurrency} threads ...", flush=True)
        result["officer_actions"] = officer_actions(officer, references, args.concurrency)
        connections.close_all()
        issued = Application.objects.filter(reference__in=references, state=State.LICENCE_ISSUED).count()

        print(f"Rendering the catalogue, {args.renders} requests per URL ...", flush=True)
        result["renders"] = time_renders(host, port, render_urls(), args.renders)
        result["checks"] = {
            "every_draft_submitted": submitted == len(drafts),
            "every_licence_issued": issued == len(drafts),
            "catalogue_size": (
                result["catalogue"]["services_in_database"] == written["services"]
                and result["catalogue"]["forms_in_database"] == written["forms"]
            ),
            "renders_ok": all(r["status"] in (200, 304) for r in result["renders"]),
            "catalogue_reload_idempotent": result["catalogue"]["versions_added_again"] == 0,
        }
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except Exception:  # noqa: BLE001
                server.kill()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        pg.stop()
    result["loadavg_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
    return result


def print_results(result: dict, args) -> None:
    m = result["machine"]
    print()
    print(
        f"tungban e-services benchmark — {result['date']} — {m['cpu']} ({m['cpus']} CPUs), load average "
        f"{' '.join(str(x) for x in m['loadavg_start'])} at start, {' '.join(str(x) for x in result['loadavg_end'])} at end "
        f"— PostgreSQL (own cluster) — tungban serve, {args.workers} processes{' — quick' if args.quick else ''}"
    )
    c = result["catalogue"]
    print(f"Catalogue: {c['services_in_database']} services, {c['forms_in_database']} forms ({c['source']})")
    print()
    s, o = result["submissions"], result["officer_actions"]
    lines = [
        ("submissions (HTTP POST .../check)", s),
        (f"officer: assign ({args.officer_via})", o["assign"]),
        (f"officer: approve + e-licence ({args.officer_via})", o["approve"]),
        (f"officer actions, all ({args.officer_via})", o["all"]),
    ]
    print_table(
        ("Operation", "Count", "Per second", "p50 ms", "p99 ms"),
        [(name, str(x["count"]), f"{x['per_second']}", f"{x['p50_ms']}", f"{x['p99_ms']}") for name, x in lines],
    )
    if s["errors"] or o["errors"]:
        print(f"Errors: submissions {s['errors']}, officer actions {o['errors']}")
    print()
    print_table(
        ("Catalogue request", "Status", "Bytes", "p50 ms", "p99 ms"),
        [(r["what"], str(r["status"]), str(r["bytes"]), f"{r['p50_ms']}", f"{r['p99_ms']}") for r in result["renders"]],
    )
    print()
    n = result["notes"]
    print(
        f"Set-up: PostgreSQL {n['postgres_start_s']} s, migrate {n['migrate_s']} s, catalogue files "
        f"{n['catalogue_files_s']} s + load {n['catalogue_load_s']} s, drafts {n['seed_drafts_s']} s, "
        f"server {n['server_start_s']} s"
    )
    print(f"Checks: {result['checks']}")


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    started = time.perf_counter()
    with scratch_dir("tungban-bench-eservices-", args.keep) as tmp:
        result = run(args, tmp)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    print_results(result, args)
    out = args.output or RESULTS / f"eservices-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    print(f"Results: {write_results(result, out)} (wall time {result['wall_seconds']} s)")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
