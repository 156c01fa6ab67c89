"""What a service costs (issue 18): the catalogue names each service's fee items by code
(``[[fee_items]]``); their amounts come from the payments app's fee schedule
(:func:`tungban.payments.services.fees_for_service`), the one place a fee is set."""

from __future__ import annotations

import datetime as dt

from tungban.payments import services as payments

from ..models import Service


def fee_rows(service: Service, *, on: dt.date | None = None) -> list[dict]:
    """The service's fee items with their amounts in force on ``on`` (default today):
    ``[{"code", "label_en", "label_zh", "amount_cents": int | None, "illustrative": bool,
    "concessions": [...], "legal_reference"}]``, in the catalogue's order; ``amount_cents`` is
    ``None`` for an item the schedule does not price on that date."""
    versions = {v.item.code: v for v in payments.fees_for_service(service.department_id, service.slug, on=on)}
    rows = []
    for item in service.fee_items or []:
        version = versions.get(item["code"])
        rows.append(
            {
                "code": item["code"],
                "label_en": item["label_en"],
                "label_zh": item["label_zh"],
                "amount_cents": version.amount_cents if version else None,
                "illustrative": version.illustrative if version else False,
                "concessions": version.concessions if version else [],
                "legal_reference": version.legal_reference if version else "",
            }
        )
    return rows


def fees_due(service: Service, *, on: dt.date | None = None) -> bool:
    """Whether an application for ``service`` has something to pay (an item above zero)."""
    return any((row["amount_cents"] or 0) > 0 for row in fee_rows(service, on=on))


def fee_lines(service: Service, *, on: dt.date | None = None) -> list[payments.Line]:
    """The order lines of an application's fees: every priced item above zero, quantity 1."""
    return [
        payments.fee_line(service.department_id, service.slug, row["code"], on=on)
        for row in fee_rows(service, on=on)
        if (row["amount_cents"] or 0) > 0
    ]
