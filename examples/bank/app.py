"""The demo bank's web application (Flask).

- ``GET /health`` → ``{"status": "ok"}``.
- ``GET /pay`` — paste an FPS QR payload, or arrive with ``?qr=<payload>&return=<url>`` (the
  platform's "Pay with your bank app" link): the payee, amount and reference, the customer's
  account to pay from, "Confirm". A static code (no amount) asks for the amount and reference.
- ``POST /pay`` — books the transfer in the ledger, then notifies the payee's platform
  (:mod:`.notifier`; retried in the background when it does not answer) and shows the result
  with a link back to ``return``.
- ``GET /api/transfers[?value_date=YYYY-MM-DD]`` → the booked transfers (JSON), with each
  notification's status.

The statements (``camt.053``/``camt.054`` files) are made from the same ledger
(:mod:`.ledger`'s ``transfers`` table).
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlparse

from flask import Flask, jsonify, render_template, request

from . import qr, statements
from .ledger import Ledger, Refused
from .notifier import Notifier

HERE = Path(__file__).resolve().parent


def _safe_return(url: str) -> str:
    """Only an http(s) URL is offered as the way back."""
    parsed = urlparse(url or "")
    return url if parsed.scheme in ("http", "https") and parsed.netloc else ""


def create_app(
    *,
    ledger_path: str,
    notify_url: str,
    secret: str,
    request_secret: str,
    payee_proxy: str = "",
    start_notifier: bool = True,
    collection_account: str = statements.COLLECTION_ACCOUNT,
    notify_max_attempts: int = 0,
) -> Flask:
    """The bank. ``payee_proxy``: the FPS proxy whose payments are notified to ``notify_url``
    (the platform's collection account); a code for another payee is refused (this demo bank
    knows one payee). One HMAC key per direction, each shared with the platform: ``secret`` signs
    the bank's notifications (bank → platform), ``request_secret`` checks the platform's
    requests for statements (platform → bank; :mod:`.statements`, for ``collection_account``).
    :raises ValueError: the two keys are the same.
    ``notify_max_attempts``: give a notification up after that many failed attempts (0: never)."""
    if not secret or secret == request_secret:
        raise ValueError("the notification key and the request key must be two different keys")
    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    ledger = Ledger(ledger_path)
    notifier = Notifier(ledger, notify_url, secret, max_attempts=notify_max_attempts)
    app.config.update(DEMO_BANK={"ledger": ledger, "notifier": notifier, "payee_proxy": payee_proxy})
    if start_notifier:
        notifier.start()
    statements.register(app, ledger=ledger, secret=request_secret, account=collection_account)

    def page(template: str, status: int = 200, **context):
        return render_template(template, accounts=ledger.accounts(), **context), status

    @app.get("/health")
    def health():
        return jsonify(status="ok", bank="demo")

    @app.get("/pay")
    def pay_form():
        payload = request.args.get("qr", "").strip()
        back = _safe_return(request.args.get("return", ""))
        if not payload:
            return page("pay.html", payment=None, payload="", back=back)
        try:
            payment = qr.read(payload)
        except qr.Unreadable as exc:
            return page("pay.html", 400, payment=None, payload=payload, back=back, error=str(exc))
        return page("pay.html", payment=payment, payload=payload, back=back)

    @app.post("/pay")
    def pay():
        form = request.form
        payload, back = form.get("qr", "").strip(), _safe_return(form.get("return", ""))
        try:
            payment = qr.read(payload)
        except qr.Unreadable as exc:
            return page("pay.html", 400, payment=None, payload=payload, back=back, error=str(exc))
        expected = app.config["DEMO_BANK"]["payee_proxy"]
        if expected and payment.proxy.lower() != expected.lower():
            return page("pay.html", 400, payment=payment, payload=payload, back=back, error="Unknown payee 收款人不明")
        amount, reference = payment.amount, payment.reference
        try:
            if amount is None:
                amount = Decimal(form.get("amount", "").strip())
            if not reference:
                reference = form.get("reference", "").strip()
        except InvalidOperation:
            amount = None
        if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")) or not reference:
            error = "Enter the amount and the reference 請輸入金額及參考編號"
            return page("pay.html", 400, payment=payment, payload=payload, back=back, error=error)
        try:
            transfer = ledger.book(
                account=form.get("account", ""),
                proxy=payment.proxy,
                amount_cents=int(amount * 100),
                currency=payment.currency,
                reference=reference,
                remittance_info=payment.reference_label,
            )
        except Refused as exc:
            return page("pay.html", 409, payment=payment, payload=payload, back=back, error=str(exc))
        status = notifier.deliver(transfer)
        return page(
            "done.html", transfer=ledger.transfer(transfer["end_to_end_id"]), payment=payment, back=back, notify=status
        )

    @app.get("/api/transfers")
    def transfers():
        return jsonify(ledger.transfers(value_date=request.args.get("value_date") or None))

    return app


def app_from_env() -> Flask:
    """The app configured from the environment (``DEMO_BANK_DB``, ``DEMO_BANK_NOTIFY_URL``,
    ``DEMO_BANK_SECRET``, ``DEMO_BANK_REQUEST_SECRET``, ``DEMO_BANK_PAYEE_PROXY``), for any WSGI
    server."""
    return create_app(
        ledger_path=os.environ["DEMO_BANK_DB"],
        notify_url=os.environ["DEMO_BANK_NOTIFY_URL"],
        secret=os.environ["DEMO_BANK_SECRET"],
        request_secret=os.environ["DEMO_BANK_REQUEST_SECRET"],
        payee_proxy=os.environ.get("DEMO_BANK_PAYEE_PROXY", ""),
    )
