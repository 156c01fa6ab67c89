"""e-Payment's rules (issue 18), one module per concern, re-exported here so callers write
``from tungban.payments import services`` and ``services.create_order(...)``:

- :mod:`.fees`: the fee schedule's files, :func:`load_fees`, :func:`current_fee`,
  :func:`fees_for_service`;
- :mod:`.surplus`: money an order must not keep goes back: the refund opened at once
  (:func:`refund_due`; overpayments, part-paid orders that expired, money for something closed);
- :mod:`.orders`: payment orders (made idempotently, their transitions, expiry, their renewal
  chains, the purposes' fulfilment task, their FPS QR payloads);
- :mod:`.matching`: the business day a credit transfer counts on and the reconciliation
  exception it raises when it did not simply pay its order;
- :mod:`.credits`: credit transfers recorded exactly once and matched, and the bank's signed
  payment notifications;
- :mod:`.reconciliation`: statement imports (camt.053/camt.054, uploaded or fetched from the
  bank), the exceptions queue's resolutions, the daily close.

A sub-module imports only sub-modules listed above it.
"""

from __future__ import annotations

from .credits import (
    SIGNATURE_HEADER,
    CreditIn,
    apply_credit,
    order_reference_in,
    parse_notification,
    receive_notification,
    record_credit,
    sign,
    verify_signature,
)
from .fees import DEFAULT_ROOT, current_fee, fees_for_service, load_fees, read_fees
from .matching import business_day
from .orders import (
    Line,
    cancel_order,
    chain,
    create_order,
    expire_order,
    expire_orders,
    expire_orders_scheduled,
    fee_line,
    find_by_reference,
    fps_payload,
    fulfil,
    fulfil_task,
    get_order,
    history,
    hkd,
    move,
    orders_for,
    payee,
    static_payload,
)
from .reconciliation import (
    approve_import,
    approve_resolution,
    close_csv,
    close_day,
    close_report,
    decline_resolution,
    exceptions_queue,
    fetch_due_statements,
    fetch_statement,
    get_exception,
    get_import,
    propose,
    register_refunds,
    submit_statement,
    turn_down_import,
)
from .surplus import refund_due

__all__ = [
    "DEFAULT_ROOT",
    "SIGNATURE_HEADER",
    "CreditIn",
    "Line",
    "apply_credit",
    "approve_import",
    "approve_resolution",
    "business_day",
    "cancel_order",
    "chain",
    "close_csv",
    "close_day",
    "close_report",
    "create_order",
    "decline_resolution",
    "current_fee",
    "exceptions_queue",
    "expire_order",
    "expire_orders",
    "expire_orders_scheduled",
    "fee_line",
    "fees_for_service",
    "fetch_due_statements",
    "fetch_statement",
    "find_by_reference",
    "fps_payload",
    "fulfil",
    "fulfil_task",
    "get_exception",
    "get_import",
    "get_order",
    "history",
    "hkd",
    "load_fees",
    "move",
    "order_reference_in",
    "orders_for",
    "parse_notification",
    "payee",
    "propose",
    "read_fees",
    "receive_notification",
    "refund_due",
    "record_credit",
    "register_refunds",
    "sign",
    "static_payload",
    "submit_statement",
    "turn_down_import",
    "verify_signature",
]
