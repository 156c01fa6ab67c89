#!/usr/bin/env python
"""Benchmark of e-payment (issue 18 acceptance 3): payment-order creation and reconciliation
of a bank statement, through the service code.

Run from the checkout::

    .venv/bin/python bench/payments.py            # 2,000 orders timed, a 10,000-line camt.053
    .venv/bin/python bench/payments.py --quick    # 300 orders, 1,000 lines
    .venv/bin/python bench/payments.py --database-url postgres://postgres@127.0.0.1:54329/empty_db

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``, SQLite
database unless ``--database-url``, which must name an empty database; secret key; nothing
under ``var/`` is touched) and migrates it. Measured:

a. **order creation**: ``services.create_order`` (one FPS order with one fee line, its
   reference with ISO 7064 check digits, two events, in one transaction) ``--orders`` times,
   one after another, as e-services or the department API call it. Orders/s, p50/p99.
b. **reconciliation**: the demo bank's writer (``examples.bank.camt``) makes a ``camt.053`` of
   ``--lines`` credit lines for orders awaiting payment (those of (a) plus others written with
   ``bulk_create``, untimed): 90 % the amount due, 4 % less, 3 % more, 3 % no order's
   reference. Uploaded, the file is first checked and held (untimed) and a second reconciler
   approves it (a file of known lines only is not held). Timed: the worker's import job (``reconciliation.run_import``: reading and
   checking the whole file, then every line recorded and matched and exceptions raised in one
   transaction). Lines/s over the job's wall time; p50/p99 of the time per line inside it
   (``record_credit``); reading (``camt.parse``) is also timed alone.
c. **the same file again**: every line already recorded (the exactly-once path). Lines/s.

The checks (the run fails otherwise): every order of (a) exists once; after (b) the orders
paid and the exceptions raised are what the lines say; (c) adds nothing. Results are written
to ``bench/results/payments-<date>[-quick].json``. The machine may be shared: the load average
at start and end is printed with the figures. No payment's purpose runs (its fulfilment tasks
stay queued): they are the purposes' cost, not reconciliation's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine, print_table, scratch_dir, write_results  # noqa: E402  (bench/machine.py)

FULL = {"orders": 2000, "lines": 10_000}
QUICK = {"orders": 300, "lines": 1000}
PURPOSE = "bench.payment"
HKT = dt.timezone(dt.timedelta(hours=8))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="300 orders and a 1,000-line statement; no JSON unless --output"
    )
    p.add_argument("--orders", type=int, help="orders created one at a time (default 2,000; 300 with --quick)")
    p.add_argument("--lines", type=int, help="credit lines in the statement (default 10,000; 1,000 with --quick)")
    p.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite file")
    p.add_argument("--output", type=Path, help="JSON results (default bench/results/payments-<date>.json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("orders", "lines"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
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
            "TUNGBAN_KEYSTORE": "software",
            "TUNGBAN_LOG_LEVEL": os.environ.get("TUNGBAN_LOG_LEVEL", "WARNING"),
            "DJANGO_SETTINGS_MODULE": "tungban.settings",
        }
    )
    for path in (ROOT, ROOT / "src"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def percentile_ms(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 2)


def summary(latencies: list[float], wall: float, count: int) -> dict:
    ordered = sorted(latencies)
    return {
        "count": count,
        "seconds": round(wall, 3),
        "per_second": round(count / wall, 1) if wall else None,
        "p50_ms": percentile_ms(ordered, 0.50),
        "p99_ms": percentile_ms(ordered, 0.99),
    }


def create_orders(n: int) -> tuple[dict, list]:
    from tungban.payments import services

    line = services.Line("licence", "Licence", "牌照", 35000)
    latencies, orders = [], []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        orders.append(
            services.create_order(
                department="FEHD",
                purpose=PURPOSE,
                purpose_ref=f"BENCH-{i}",
                lines=[line],
                description_en="A licence",
                description_zh="牌照",
                created_by="bench",
                idempotency_key=f"bench-{i}",
            )
        )
        latencies.append(time.perf_counter() - t0)
    return summary(latencies, time.perf_counter() - started, n), orders


def more_orders(n: int) -> list:
    """``n`` orders awaiting payment, written at once (untimed set-up)."""
    from django.utils import timezone

    from tungban.payments.constants import OrderState
    from tungban.payments.models import PaymentOrder
    from tungban.payments.reference import new_reference

    expires = timezone.now() + dt.timedelta(hours=3)
    rows = [
        PaymentOrder(
            reference=new_reference(),
            amount_cents=35000,
            lines=[{"code": "licence", "label_en": "Licence", "label_zh": "牌照", "unit_cents": 35000, "quantity": 1}],
            department="FEHD",
            description_en="A licence",
            description_zh="牌照",
            purpose=PURPOSE,
            purpose_ref=f"BULK-{i}",
            state=OrderState.AWAITING_TRANSFER,
            expires_at=expires,
            idempotency_key=f"bulk-{i}",
            created_by="bench-bulk",
        )
        for i in range(n)
    ]
    return PaymentOrder.objects.bulk_create(rows, batch_size=1000)


def statement(orders: list, lines: int) -> tuple[bytes, dict]:
    """A camt.053 of ``lines`` credits (see the module docstring) and what it should do."""
    from django.conf import settings
    from django.utils import timezone

    from examples.bank import camt

    now = timezone.now()
    transfers, expected = [], {"paid": 0, "under": 0, "over": 0, "unmatched": 0}
    for i in range(lines):
        slot = i % 100
        order = orders[i]
        amount, text = 35000, order.reference
        if slot < 90:
            expected["paid"] += 1
        elif slot < 94:
            amount, expected["under"] = 30000, expected["under"] + 1
        elif slot < 97:
            amount, expected["over"] = 40000, expected["over"] + 1
        else:
            text, expected["unmatched"] = f"BENCH PAYMENT {i}", expected["unmatched"] + 1
        transfers.append(
            {
                "end_to_end_id": f"BENCH{i:012d}",
                "account_servicer_ref": f"ASR{i:012d}",
                "message_id": f"PACS{i:012d}",
                "amount_cents": amount,
                "booked_at": now,
                "value_date": now.astimezone(HKT).date(),
                "reference": text,
                "debtor_name": "CHAN T** M**",
            }
        )
    account = {"number": settings.TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT, "name": "HKSAR GOVERNMENT", "bic": "DEMOHKHHXXX"}
    data = camt.statement(
        account,
        now.astimezone(HKT).date(),
        transfers,
        opening_cents=0,
        message_id=f"BENCH-{secrets.token_hex(4)}",
        created_at=now,
    )
    return data, expected


def reconcile(data: bytes) -> tuple[dict, object]:
    """Time one import job of ``data``; per-line latencies from ``record_credit``."""
    from tungban.payments.services import reconciliation, submit_statement

    latencies: list[float] = []
    real = reconciliation.record_credit

    def timed(credit, *, source):
        t0 = time.perf_counter()
        try:
            return real(credit, source=source)
        finally:
            latencies.append(time.perf_counter() - t0)

    imp, _new = submit_statement(data, filename="bench.xml", requested_by="bench")
    reconciliation.record_credit = timed
    try:
        started = time.perf_counter()
        imp = reconciliation.run_import(imp.pk)
        if imp.state == "held":
            # An upload with new lines is read, checked and held until a second reconciler
            # approves it (review finding 2): the job after the approval is the one timed.
            reconciliation.approve_import(imp.pk, officer="bench-checker")
            started = time.perf_counter()
            imp = reconciliation.run_import(imp.pk)
        wall = time.perf_counter() - started
    finally:
        reconciliation.record_credit = real
    if imp.state != "done":
        raise SystemExit(f"the import ended {imp.state}: {imp.error_code} {imp.error_message} {imp.last_error}")
    return summary(latencies, wall, imp.lines_total), imp


def run(args, tmp: Path) -> dict:
    isolate(tmp, args.database_url)
    import django

    django.setup()
    from tungban.payments import purposes
    from tungban.payments.constants import OrderState
    from tungban.payments.models import CreditTransfer, PaymentOrder, ReconciliationException
    from tungban.testing.migrated import migrate_database

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    migrate_s = time.perf_counter() - t0
    if PaymentOrder.objects.exists():
        raise SystemExit("The database already holds payment orders: give --database-url an empty database.")
    purposes.register(PURPOSE, on_paid=lambda order: None, app="bench")
    from django.db import connection

    result = {
        "benchmark": "payments",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": connection.vendor,
        "machine_start": machine(),
        "orders": args.orders,
        "lines": args.lines,
        "setup_seconds": {"migrate": round(migrate_s, 1)},
    }

    print(f"Creating {args.orders} orders one at a time ({connection.vendor}) ...", flush=True)
    result["order_creation"], created = create_orders(args.orders)
    assert PaymentOrder.objects.filter(created_by="bench").count() == args.orders
    t0 = time.perf_counter()
    orders = created + more_orders(max(0, args.lines - len(created)))
    result["setup_seconds"]["bulk_orders"] = round(time.perf_counter() - t0, 1)

    data, expected = statement(orders, args.lines)
    from tungban.payments import camt

    t0 = time.perf_counter()
    parsed = camt.parse(data)
    parse_s = time.perf_counter() - t0
    result["statement"] = {
        "bytes": len(data),
        "parse_seconds": round(parse_s, 3),
        "parse_lines_per_second": round(len(parsed.lines) / parse_s, 1),
    }
    print(f"Reconciling a {len(data) / 1e6:.1f} MB camt.053 of {args.lines} lines ...", flush=True)
    result["reconciliation"], imp = reconcile(data)
    paid = PaymentOrder.objects.filter(state=OrderState.SUCCESS).count()
    exceptions = ReconciliationException.objects.count()
    if (imp.lines_new, paid, exceptions) != (args.lines, expected["paid"], args.lines - expected["paid"]):
        raise SystemExit(f"unexpected outcome: {imp.lines_new} new, {paid} paid, {exceptions} exceptions; {expected}")
    result["reconciliation"]["outcome"] = {"paid": paid, "exceptions": exceptions, **expected}

    print("The same lines again (all known) ...", flush=True)
    again, _ = statement(orders, args.lines)  # a new message id: another file, the same transfers
    result["reimport"], imp2 = reconcile(again)
    if imp2.lines_new or imp2.lines_known != args.lines or CreditTransfer.objects.count() != args.lines:
        raise SystemExit("the second import added something")
    result["machine_end"] = machine()
    return result


def print_results(result: dict) -> None:
    print()
    print(f"e-payment on {result['database']}: {result['orders']} orders, a {result['lines']}-line camt.053")
    rows = []
    for key, label, unit in (
        ("order_creation", "(a) order creation", "orders"),
        ("reconciliation", "(b) reconciliation (import job)", "lines"),
        ("reimport", "(c) same lines again", "lines"),
    ):
        r = result[key]
        rows.append((label, f"{r['count']:,} {unit}", f"{r['per_second']:,}/s", f"{r['p50_ms']}", f"{r['p99_ms']}"))
    print_table(("", "count", "rate", "p50 ms", "p99 ms"), rows)
    st = result["statement"]
    print(
        f"reading alone: {st['parse_lines_per_second']:,} lines/s ({st['bytes'] / 1e6:.1f} MB in {st['parse_seconds']} s)"
    )
    print(f"(b) p50/p99 are per line inside the job (record_credit); outcome {result['reconciliation']['outcome']}")
    print(
        f"load average at start / end: {result['machine_start']['loadavg_start']} / {result['machine_end']['loadavg_start']}"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    with scratch_dir("tungban-bench-payments-", args.keep) as tmp:
        result = run(args, tmp)
    print_results(result)
    out = args.output
    if out is None and not args.quick:
        out = ROOT / "bench" / "results" / f"payments-{dt.date.today().isoformat()}.json"
    if out:
        print(f"Results: {write_results(result, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
