"""The exchange gateway's cards on the personal assistant panel (issue 16; registered with
:mod:`tungban.wallet.cards` in ``ExchangeConfig.ready``):

* ``exchange.water-bill``: the water-bill balance from the Water Supplies Department
  (``wsd.water-bill.v1``), fetched **through the gateway** under the resident's consent, as
  the seed describes (「在取得市民授權後……透過「智方便」的「個人助理」版面，直接顯示……水費單結餘」).
  The data user is the platform's own personal assistant (:data:`ASSISTANT`), a participant
  like any other: without an active consent the card shows nothing and offers to ask for one
  (the app's consent approval, passkey-confirmed); each load is one exchange, recorded in the
  resident's history and the transparency log like every other.
* ``exchange.recent-uses``: the newest data uses — releases to services and mini-programs
  (the wallet's release records) and exchanges between organisations under the resident's
  consents.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from joserfc.jwk import ECKey

from tungban.core.errors import DomainError
from tungban.identity import eme
from tungban.identity.models import Resident
from tungban.oidc import services as oidc
from tungban.wallet import services as wallet

from . import services
from .models import Consent, ConsentStatus, Organisation, OrganisationKind

WATER_BILL = "wsd.water-bill.v1"
#: The personal assistant as a data user of the gateway.
ASSISTANT = {
    "id": "tungban-assistant",
    "name_en": "tungban 通辦 personal assistant",
    "name_zh": "tungban 通辦個人助理",
}
CONSENT_PURPOSE = "Show your water bill balance on your tungban 通辦 personal assistant panel"
CONSENT_SECONDS = 365 * 86400
RECENT = 5


def _en() -> bool:
    return (get_language() or "").startswith("en")


def _name(obj) -> str:
    return obj.name_en if _en() else (obj.name_zh or obj.name_en)


def assistant() -> Organisation:
    """The personal assistant's participant record (created on first use, with the OIDC
    client a data user is identified by). It never signs in: it calls the gateway in-process,
    so its client's secret and registered key are fresh ones never kept (a data
    user's client must register keys, and nobody can authenticate as this one)."""
    found = Organisation.objects.select_related("client").filter(pk=ASSISTANT["id"]).first()
    if found is not None:
        return found
    with transaction.atomic():
        client, _never_kept = oidc.register_client(
            client_id=ASSISTANT["id"],
            name_en=ASSISTANT["name_en"],
            name_zh=ASSISTANT["name_zh"],
            redirect_uris=[settings.TUNGBAN_ISSUER.rstrip("/") + "/app/"],
            allowed_scopes=["openid"],
            jwks={"keys": [ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True).as_dict(private=False)]},
        )
        return services.register_organisation(**ASSISTANT, kind=OrganisationKind.OTHER, client=client)


def _latest_consent(resident: Resident, org: Organisation) -> Consent | None:
    return (
        Consent.objects.select_related("product__provider", "approval")
        .filter(consumer=org, product_id=WATER_BILL, resident=resident)
        .order_by("-created_at")
        .first()
    )


def _money(amount: str) -> str:
    return f"HK${amount}" if _en() else f"港幣{amount}元"


def _date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return d.strftime("%-d %b %Y") if _en() else f"{d.year}年{d.month}月{d.day}日"


def water_bill_card(resident: Resident) -> dict:
    """The water-bill card: ``ok`` with balance, due date and account (source: WSD, the product,
    when the gateway delivered it); ``consent_needed`` without an active consent; ``empty``
    when WSD holds no account; ``unavailable`` when the gateway refuses."""
    org = assistant()
    consent = _latest_consent(resident, org)
    status = consent.effective_status() if consent else None
    if status != ConsentStatus.ACTIVE:
        pending = status == ConsentStatus.REQUESTED
        return {
            "state": "consent_needed",
            "message": _("Waiting for your consent in this app.")
            if pending
            else _(
                "With your consent, tungban 通辦 obtains your water bill balance from the Water Supplies "
                "Department through the consented data exchange gateway. You can revoke the consent at any time."
            ),
            "action": _("Give consent"),
        }
    try:
        answer = services.exchange(
            org, consent_id=consent.id, product_id=WATER_BILL, request_id=f"panel-{uuid.uuid4().hex}"
        )
    except DomainError as exc:
        state = "empty" if exc.code == "no_record" else "unavailable"
        message = (
            _("The Water Supplies Department holds no water account in your name.")
            if state == "empty"
            else str(exc.message)
        )
        return {"state": state, "message": message}
    data = answer["data"]
    product = consent.product
    return {
        "state": "ok",
        "items": [
            {"label": _("Balance due"), "value": _money(data["balance_hkd"])},
            {"label": _("Payment due date"), "value": _date(data["due_date"])},
            {"label": _("Water account"), "value": data["account_number"]},
        ],
        "sources": [
            {"department": _name(product.provider), "product": _name(product), "fetched_at": answer["delivered_at"]}
        ],
    }


def ask_water_bill_consent(resident: Resident) -> dict:
    """Ask the resident for the water-bill consent (the app opens the approval); a request
    still waiting is given again rather than a second one."""
    org = assistant()
    consent = _latest_consent(resident, org)
    if consent and consent.effective_status() == ConsentStatus.REQUESTED and consent.approval_id:
        return {"approval_id": str(consent.approval_id)}
    consent = services.request_consent(
        org,
        product_id=WATER_BILL,
        purpose=CONSENT_PURPOSE,
        duration_seconds=min(CONSENT_SECONDS, settings.TUNGBAN_EXCHANGE_MAX_CONSENT_SECONDS),
        sub=oidc.pairwise_sub(resident, org.client),
    )
    return {"approval_id": str(consent.approval_id)}


def recent_uses_card(resident: Resident) -> dict:
    """The newest :data:`RECENT` uses of the resident's data: releases (who received which
    details) and exchanges (who obtained which product from whom, and the outcome)."""
    uses = []
    for rel in wallet.history(resident, limit=RECENT):
        labels = [str(eme.CLAIMS[c].label) if c in eme.CLAIMS else c for c in rel.claims]
        who = rel.requester_name_en if _en() else (rel.requester_name_zh or rel.requester_name_en)
        uses.append((rel.released_at, who, ", ".join(labels) or _("Sign-in only")))
    for rec in services.history_of(resident, limit=RECENT):
        s = services.exchange_summary(rec)
        who = s["data_user"]["name_en"] if _en() else (s["data_user"]["name_zh"] or s["data_user"]["name_en"])
        what = s["product"]["name_en"] if _en() else s["product"]["name_zh"]
        outcome = "" if s["delivered"] else " (" + _("not delivered") + ")"
        uses.append((dt.datetime.fromisoformat(s["at"]), who, what + outcome))
    uses.sort(key=lambda u: u[0], reverse=True)
    now = timezone.now()
    if not uses:
        return {"state": "empty", "message": _("Nothing has been shared yet.")}
    return {
        "state": "ok",
        "items": [
            {"label": who, "value": f"{what} · {timezone.localtime(at).strftime('%Y-%m-%d %H:%M')}"}
            for at, who, what in uses[:RECENT]
        ],
        "sources": [
            {
                "department": "tungban 通辦",
                "product": _("Your release records and data exchange records"),
                "fetched_at": now.isoformat(),
            }
        ],
    }
