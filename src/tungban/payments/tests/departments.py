"""Test helpers of the payments' department side (issue 18 part 4): a department's payment
system as an integrator writes it (its own key, ``client_credentials`` with ``private_key_jwt``,
plain ``requests``) and money arriving for an order."""

from __future__ import annotations

import uuid

import requests
from django.utils import timezone
from joserfc.jwk import ECKey

from examples.data_user import DataUser
from tungban.oidc import services as oidc
from tungban.payments import services
from tungban.payments.constants import CreditSource
from tungban.payments.services import webhooks


def payment_system(issuer_url: str, department: str, *, name_en: str = "", name_zh: str = "") -> DataUser:
    """A department's payment system: an OIDC client ``<department>-pay`` with a key of its own,
    registered for ``department``, taking ``client_credentials`` tokens with scope ``payments``."""
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _secret = oidc.register_client(
        client_id=f"{department.lower()}-pay",
        name_en=f"{department} payment system",
        name_zh=f"{department} 收費系統",
        redirect_uris=[f"https://{department.lower()}.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    webhooks.register_system(department, client, name_en=name_en, name_zh=name_zh)
    return DataUser(issuer_url, client.client_id, key.as_dict(private=True), scope="payments")


def call(system: DataUser, method: str, path: str, body=None, *, key: str | None = None, lang="en", **params):
    """One call of ``/api/v1/payments{path}`` with the system's token (and ``key`` as the
    ``Idempotency-Key``, an RFC 8941 string)."""
    headers = {"Authorization": f"Bearer {system.token()}", "Accept-Language": lang}
    if key is not None:
        headers["Idempotency-Key"] = f'"{key}"'
    return requests.request(
        method, f"{system.issuer}/api/v1/payments{path}", json=body, headers=headers, params=params, timeout=30
    )


def new_payment(
    system: DataUser, *, amount: int = 12345, reference: str = "INV-1", key: str | None = None, lang="en", **extra
):
    body = {
        "amount": amount,
        "reference": reference,
        "description": {"en": "Hawker licence fee", "zh": "小販牌照費"},
        "return_url": "https://fehd.example/done",
        **extra,
    }
    return call(system, "POST", "/payments", body, key=key or f"pay-{uuid.uuid4()}", lang=lang)


def pay(order, amount: int | None = None, *, source: str = CreditSource.NOTIFICATION, e2e: str | None = None):
    """Money for ``order`` (its reference carried), recorded as the bank's notification or a
    statement line reports it (:func:`tungban.payments.services.record_credit`)."""
    return services.record_credit(
        services.CreditIn(
            end_to_end_id=e2e or f"E2E{uuid.uuid4().hex[:20]}",
            message_id=f"MSG{uuid.uuid4().hex[:12]}",
            amount_cents=order.amount_cents if amount is None else amount,
            value_date=timezone.localdate(),
            booked_at=timezone.now(),
            reference=order.reference,
        ),
        source=source,
    )
