"""The app's "Cross-boundary bindings" card (跨境綁定, issue 23): the partner platforms the
resident's account is bound to, the legal basis and filing reference of each. Removal is the
device API's (``DELETE /api/v1/federation/app/bindings/{id}``) and the command-line app's."""

from __future__ import annotations

from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tungban.identity.models import Resident

from .services import bindings

#: The card kind (:mod:`tungban.wallet.cards`).
CARD_KIND = "federation.bindings"


def bindings_card(resident: Resident) -> dict:
    """One item per live binding: the partner (in the request's language), since when, which
    claims may cross, the legal basis and the filing reference."""
    found = bindings.bindings_of(resident)
    if not found:
        return {"state": "empty", "message": _("Your account is not bound to any partner platform.")}
    zh = (get_language() or "").startswith("zh")
    items = []
    for binding in found:
        partner = binding.partner
        value = _("Bound on %(date)s. Legal basis: %(basis)s (filing reference %(reference)s).") % {
            "date": formats.date_format(binding.created_at, "DATE_FORMAT"),
            "basis": partner.legal_basis_zh if zh else partner.legal_basis_en,
            "reference": partner.filing_reference,
        }
        items.append({"label": partner.name_zh if zh else partner.name_en, "value": value})
    return {"state": "ok", "items": items}
