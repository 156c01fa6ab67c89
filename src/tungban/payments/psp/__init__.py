"""Card and e-wallet payments through a payment service provider (PSP), pluggable (issue 18:
"Card/wallet payments go through a pluggable PSP adapter with a mock PSP in the tests").

The platform never sees a card number: the resident pays on the provider's hosted page, and the
platform learns the outcome two ways, as with every hosted-payment PSP (Stripe Checkout,
Worldpay, the GOV.UK Pay connectors): the provider's **signed webhook**, and a **query** when the
resident's browser comes back (the redirect may come first, the webhook may come first, twice,
or never). Both end in :func:`tungban.payments.services.card.apply_result`, which records the
money exactly once.

* :class:`~.base.Provider` is the interface an adapter implements: :meth:`create_session`,
  :meth:`parse_webhook`, :meth:`query`.
* :func:`provider` gives the configured one (``TUNGBAN_PAYMENTS_PSP``: ``""`` none — the payment
  page then offers FPS alone; ``"mock"`` the mock PSP of :mod:`.mock`; or the dotted path of
  a :class:`~.base.Provider` subclass).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .base import PaymentResult, Provider, PspError, Session, SignatureInvalid

__all__ = ["PaymentResult", "Provider", "PspError", "Session", "SignatureInvalid", "configured", "provider"]

#: Short names of the bundled adapters.
BUNDLED = {"mock": "tungban.payments.psp.mock.MockProvider"}


def configured() -> bool:
    """Whether a PSP is configured (the payment page then offers card and e-wallets)."""
    return bool(settings.TUNGBAN_PAYMENTS_PSP)


def provider(name: str | None = None) -> Provider:
    """The configured adapter (or the one called ``name``, which must be the configured one).

    :raises PspError: none is configured, or ``name`` is another one."""
    path = settings.TUNGBAN_PAYMENTS_PSP
    if not path:
        raise PspError("no payment service provider is configured (TUNGBAN_PAYMENTS_PSP)")
    cls = import_string(BUNDLED.get(path, path))
    if name is not None and name != cls.name:
        raise PspError(f"the configured payment service provider is {cls.name!r}, not {name!r}")
    return cls()
