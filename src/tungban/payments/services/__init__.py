"""e-Payment's rules (issue 18), one module per concern, re-exported here so callers write
``from tungban.payments import services`` and ``services.create_order(...)``:

- :mod:`.fees`: the fee schedule's files, :func:`load_fees`, :func:`current_fee`,
  :func:`fees_for_service`;
- :mod:`.orders`: payment orders (made idempotently, their transitions, expiry, the
  purposes' fulfilment task, their FPS QR payloads);
- :mod:`.credits`: credit transfers recorded exactly once and matched, and the bank's signed
  payment notifications.

A sub-module imports only sub-modules listed above it.
"""

from __future__ import annotations

from .credits import (
    SIGNATURE_HEADER,
    CreditIn,
    order_reference_in,
    parse_notification,
    receive_notification,
    record_credit,
    sign,
    verify_signature,
)
from .fees import DEFAULT_ROOT, current_fee, fees_for_service, load_fees, read_fees
from .orders import (
    Line,
    cancel_order,
    create_order,
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

__all__ = [
    "DEFAULT_ROOT",
    "SIGNATURE_HEADER",
    "CreditIn",
    "Line",
    "cancel_order",
    "create_order",
    "current_fee",
    "expire_orders",
    "expire_orders_scheduled",
    "fee_line",
    "fees_for_service",
    "find_by_reference",
    "fps_payload",
    "fulfil",
    "fulfil_task",
    "get_order",
    "history",
    "hkd",
    "load_fees",
    "move",
    "order_reference_in",
    "orders_for",
    "parse_notification",
    "payee",
    "read_fees",
    "receive_notification",
    "record_credit",
    "sign",
    "static_payload",
    "verify_signature",
]
