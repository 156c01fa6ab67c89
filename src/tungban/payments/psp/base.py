"""The interface of a payment service provider adapter (hosted payment page, signed webhooks,
payment query), and the values it exchanges with the platform.

An adapter turns its provider's API into three calls. Amounts are integers in the currency's
minor unit (HK$ cents), as every PSP API and GOV.UK Pay count them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

#: The outcome of a provider's payment, in the platform's words:
#: ``pending`` (created; the resident has not finished), ``succeeded`` (money captured),
#: ``declined`` (the issuer or the provider refused: GOV.UK Pay P0010), ``abandoned`` (the
#: resident left the page or 3-D Secure: the session is dead; GOV.UK Pay P0030), ``expired``
#: (the session ran out of time: P0020), ``error`` (the provider failed: P0050).
Status = Literal["pending", "succeeded", "declined", "abandoned", "expired", "error"]
#: What the resident paid with, as the provider reports it.
Instrument = Literal["card", "apple_pay", "google_pay"]
FINAL = ("succeeded", "declined", "abandoned", "expired", "error")


class PspError(Exception):
    """The provider cannot be used or did not answer (configuration, network, its 5xx)."""


class SignatureInvalid(PspError):
    """A webhook whose signature does not verify (forged, altered, or too old to be fresh)."""


@dataclass(frozen=True)
class Session:
    """A hosted payment session: ``payment_id`` is the provider's id of the payment (unique per
    provider), ``next_url`` the page the resident's browser is sent to."""

    payment_id: str
    next_url: str


@dataclass(frozen=True)
class PaymentResult:
    """What the provider says of a payment (from a webhook or a query).

    :param reference: the platform's order reference the session was made for (the provider
        echoes it; the platform checks it against the payment it recorded).
    :param event_id: the webhook's own id (a provider may send one event twice), or "" for a
        query.
    """

    payment_id: str
    reference: str
    status: Status
    amount_cents: int
    currency: str
    instrument: Instrument | Literal[""] = ""
    failure_code: str = ""
    succeeded_at: dt.datetime | None = None
    event_id: str = ""


class Provider:
    """A PSP adapter. Subclasses set :attr:`name` (the path segment of its webhook endpoint,
    ``/pay/psp/<name>/webhook``) and implement the three calls."""

    name: ClassVar[str] = ""
    #: The instruments its hosted page offers (the payment page lists them).
    instruments: ClassVar[tuple[Instrument, ...]] = ("card", "apple_pay", "google_pay")

    def create_session(
        self, *, reference: str, amount_cents: int, currency: str, description: str, return_url: str, language: str
    ) -> Session:
        """Open a hosted payment for the order ``reference``; the provider sends the resident
        back to ``return_url`` whatever the outcome.

        :raises PspError: the provider refused or did not answer."""
        raise NotImplementedError

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentResult:
        """Verify a webhook the provider sent (its signature over the raw ``body``, its
        freshness) and read it.

        :raises SignatureInvalid: the signature is missing, wrong or stale.
        :raises PspError: the body cannot be read."""
        raise NotImplementedError

    def query(self, payment_id: str) -> PaymentResult:
        """Ask the provider for the payment's current state (strongly consistent).

        :raises PspError: unknown payment, or the provider did not answer."""
        raise NotImplementedError
