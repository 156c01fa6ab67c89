"""The exchange gateway's cards on the personal assistant panel (issue 16; registered with
:mod:`tungban.wallet.cards` in ``ExchangeConfig.ready``):

* ``exchange.water-bill``: the water-bill balance from the Water Supplies Department
  (``wsd.water-bill.v1``), fetched **through the gateway** under the resident's consent, as
  the seed describes (「在取得市民授權後……透過「智方便」的「個人助理」版面，直接顯示……水費單結餘」).
  The data user is the platform's own personal assistant (:data:`ASSISTANT`), a participant
  like any other: without an active consent the card shows nothing and offers to ask for one
  (the app's consent approval, passkey-confirmed). Each fetch is one exchange, recorded in the
  resident's history and the transparency log like every other; its answer is kept
  (:class:`~.models.AssistantAnswer`, encrypted) and shown, with its fetch time, until it is
  ``TUNGBAN_ASSISTANT_REFRESH_SECONDS`` old or the resident taps "Refresh" (the card's action
  once consented): security review M5, one exchange per panel load was too many.
* ``exchange.recent-uses``: the newest data uses — releases to services and mini-programs
  (the wallet's release records) and exchanges between organisations under the resident's
  consents; the assistant's own fetches are one line (how many, the latest), so they never
  push the others out.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from joserfc.jwk import ECKey

from tungban.core.errors import DomainError
from tungban.identity import eme
from tungban.identity.models import Resident
from tungban.oidc import services as oidc
from tungban.oidc.constants import LOGIN_KIND
from tungban.wallet import kinds
from tungban.wallet import services as wallet

from . import services, signals
from .models import AssistantAnswer, Consent, ConsentStatus, Organisation, OrganisationKind

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
log = logging.getLogger(__name__)


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


def water_bill_card(resident: Resident, refresh: bool = False) -> dict:
    """The water-bill card: ``ok`` with balance, due date and account (source: WSD, the product,
    when the gateway delivered it) and the action "Refresh"; ``consent_needed`` without an
    active consent (a kept answer is then dropped); ``empty`` when WSD holds no account;
    ``unavailable`` when the gateway refuses. The answer kept for this consent is shown while
    younger than ``TUNGBAN_ASSISTANT_REFRESH_SECONDS`` (security review M5); ``refresh``
    fetches again regardless."""
    org = assistant()
    consent = _latest_consent(resident, org)
    status = consent.effective_status() if consent else None
    if status != ConsentStatus.ACTIVE:
        AssistantAnswer.objects.filter(resident=resident, product_id=WATER_BILL).delete()
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
    kept = AssistantAnswer.objects.filter(resident=resident, product_id=WATER_BILL, consent=consent).first()
    fresh_after = timezone.now() - dt.timedelta(seconds=settings.TUNGBAN_ASSISTANT_REFRESH_SECONDS)
    if kept is not None and not refresh and kept.fetched_at > fresh_after:
        data, fetched_at = json.loads(kept.data), kept.fetched_at
    else:
        try:
            answer = services.exchange(
                org, consent_id=consent.id, product_id=WATER_BILL, request_id=f"panel-{uuid.uuid4().hex}"
            )
        except DomainError as exc:
            AssistantAnswer.objects.filter(resident=resident, product_id=WATER_BILL).delete()
            state = "empty" if exc.code == "no_record" else "unavailable"
            message = (
                _("The Water Supplies Department holds no water account in your name.")
                if state == "empty"
                else str(exc.message)
            )
            return {"state": state, "message": message}
        data, fetched_at = answer["data"], dt.datetime.fromisoformat(answer["delivered_at"])
        AssistantAnswer.objects.update_or_create(
            resident=resident,
            product_id=WATER_BILL,
            defaults={"consent": consent, "data": json.dumps(data), "fetched_at": fetched_at},
        )
    product = consent.product
    items = [
        {"label": _("Balance due"), "value": _money(data["balance_hkd"])},
        {"label": _("Payment due date"), "value": _date(data["due_date"])},
        {"label": _("Water account"), "value": data["account_number"]},
    ]
    # Apps above may add an item (payments: "Pay", issue 18); a failing receiver costs only its item.
    for receiver, extra in signals.water_bill_shown.send_robust(
        sender=None, resident=resident, data=data, fetched_at=fetched_at
    ):
        if isinstance(extra, Exception):
            log.error("water_bill_shown receiver %r failed", receiver, exc_info=extra)
        elif isinstance(extra, dict):
            items.append(extra)
    return {
        "state": "ok",
        "items": items,
        "sources": [
            {"department": _name(product.provider), "product": _name(product), "fetched_at": fetched_at.isoformat()}
        ],
        "action": _("Refresh"),
    }


def water_bill_action(resident: Resident) -> dict:
    """The water-bill card's action: with an active consent, fetch the balance again now
    ("Refresh"; returns ``{}``); otherwise ask for the consent (:func:`ask_water_bill_consent`)."""
    consent = _latest_consent(resident, assistant())
    if consent and consent.effective_status() == ConsentStatus.ACTIVE:
        water_bill_card(resident, refresh=True)
        return {}
    return ask_water_bill_consent(resident)


def purge_kept_answers(now: dt.datetime) -> dict[str, int]:
    """The scheduled purge's part (:mod:`tungban.core.retention`, ``assistant_answers``): kept
    answers older than ``TUNGBAN_ASSISTANT_REFRESH_SECONDS`` (never shown again: the next load
    fetches anew) are deleted. Returns ``{"exchange.AssistantAnswer": deleted}``."""
    cutoff = now - dt.timedelta(seconds=settings.TUNGBAN_ASSISTANT_REFRESH_SECONDS)
    deleted = AssistantAnswer.objects.filter(fetched_at__lt=cutoff).delete()[0]
    return {AssistantAnswer._meta.label: deleted}


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


def _without_claims(kind: str) -> str:
    """What a release of no e-ME field was: a login's is "Sign-in only"; any other kind's is
    its registered label (:mod:`tungban.wallet.kinds`; e.g. "Sign documents"), as the app's
    history says."""
    if kind == LOGIN_KIND:
        return _("Sign-in only")
    return kinds.labels().get(kind, kind)


def recent_uses_card(resident: Resident) -> dict:
    """The newest :data:`RECENT` uses of the resident's data: releases (who received which
    details) and exchanges (who obtained which product from whom, and the outcome). The
    personal assistant's own fetches are one line per product (how many, the latest), so they
    never push the others out (security review M5)."""
    uses = []
    for rel in wallet.history(resident, limit=RECENT):
        labels = [str(eme.CLAIMS[c].label) if c in eme.CLAIMS else c for c in rel.claims]
        who = rel.requester_name_en if _en() else (rel.requester_name_zh or rel.requester_name_en)
        uses.append((rel.released_at, who, ", ".join(labels) or _without_claims(rel.kind)))
    for rec in services.history_of(resident, limit=RECENT, exclude_data_user=ASSISTANT["id"]):
        s = services.exchange_summary(rec)
        who = s["data_user"]["name_en"] if _en() else (s["data_user"]["name_zh"] or s["data_user"]["name_en"])
        what = s["product"]["name_en"] if _en() else s["product"]["name_zh"]
        outcome = "" if s["delivered"] else " (" + _("not delivered") + ")"
        uses.append((dt.datetime.fromisoformat(s["at"]), who, what + outcome))
    for product, count, latest in services.uses_by(resident, ASSISTANT["id"]):
        who = ASSISTANT["name_en"] if _en() else ASSISTANT["name_zh"]
        what = ngettext(
            "%(product)s, for your panel: %(count)s time", "%(product)s, for your panel: %(count)s times", count
        ) % {"product": _name(product) if product else "", "count": count}
        uses.append((latest, who, what))
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
