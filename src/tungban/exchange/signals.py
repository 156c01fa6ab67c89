"""Signals of the exchange gateway, for apps on its floor or above that must not be imported
by it (docs/architecture.md, "Floor plan").

``water_bill_shown(sender=None, resident, data, fetched_at)``: the personal assistant's water-bill
card (:func:`tungban.exchange.cards.water_bill_card`) is about to show ``data`` (a
``wsd.water-bill.v1`` answer the Water Supplies Department delivered through the gateway under
the resident's consent, fetched at ``fetched_at``). A receiver may return one more item for
the card (``{"label", "value", "href"}``, in the request's language; ``href`` a path on the
platform), e.g. the payments app's "Pay" (issue 18: the water bill as a bill in the app). Sent
with ``send_robust``: a receiver that fails costs its item, never the card.
"""

from django.dispatch import Signal

water_bill_shown = Signal()
